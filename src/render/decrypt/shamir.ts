// Shamir's secret sharing over GF(2^8) as sops (after HashiCorp Vault) combines key-group shares into the data key.

/** Multiplication in GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1. */
function mult(a: number, b: number): number {
  let acc = 0;
  for (let i = 7; i >= 0; i--) {
    acc = ((acc << 1) ^ (acc & 0x80 ? 0x1b : 0)) & 0xff;
    if ((b >> i) & 1) acc ^= a;
  }
  return acc;
}

/** a^254 = a^-1 in GF(2^8). */
function inverse(a: number): number {
  let r = 1;
  for (let i = 0; i < 254; i++) r = mult(r, a);
  return r;
}

/** shamir.Combine: each share ends with its x coordinate; the secret is the polynomial at 0. */
export function combineShares(parts: readonly Buffer[]): Buffer {
  const len = parts[0]?.length ?? 0;
  if (parts.length < 2 || len < 2 || parts.some((p) => p.length !== len))
    throw new Error('the key-group shares do not fit together');
  const xs = parts.map((p) => p[len - 1]!);
  if (new Set(xs).size !== xs.length) throw new Error('two key-group shares are the same');
  const secret = Buffer.alloc(len - 1);
  for (let idx = 0; idx < len - 1; idx++) {
    let result = 0;
    for (let i = 0; i < parts.length; i++) {
      let basis = 1;
      for (let j = 0; j < parts.length; j++) {
        if (i === j) continue;
        basis = mult(basis, mult(xs[j]!, inverse(xs[i]! ^ xs[j]!)));
      }
      result ^= mult(parts[i]![idx]!, basis);
    }
    secret[idx] = result;
  }
  return secret;
}
