// Removes anything credential-shaped from git's output before it can reach a log line or an error message.

const PATTERNS: ReadonlyArray<[RegExp, string]> = [
  // user:password@ in any URL, and any userinfo in http(s) URLs (where a lone "user" is often a token)
  [/([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/@\s:]*:[^/@\s]*@/g, '$1***@'],
  [/(https?:\/\/)[^/@\s]+@/gi, '$1***@'],
  // Authorization headers and bare auth schemes, whatever follows them on the line
  [/(authorization\s*:\s*)[^\r\n]*/gi, '$1***'],
  [/\b(basic|bearer|token)(\s+)[A-Za-z0-9._~+/=-]{8,}/gi, '$1$2***'],
  // PEM blocks (private keys)
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$)/g, '***private key***'],
  // S3 presigned URLs and signed headers
  [/\b(X-Amz-(?:Signature|Credential|Security-Token)=)[^&\s]+/gi, '$1***'],
  [/\b(Credential=)[^,\s]+/g, '$1***'],
  // common token formats (GitHub, GitLab)
  [/\b(gh[pousr]_[A-Za-z0-9]{20,}|glpat-[A-Za-z0-9_-]{20,})\b/g, '***'],
];

/**
 * Returns text with known secret values and credential-looking substrings replaced by ***.
 * Known values are removed first, so a secret that matches no pattern still never leaks.
 */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join('***');
  }
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}
