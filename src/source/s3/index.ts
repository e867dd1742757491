// S3 for sources: a SigV4-signing, path-style client for any S3-compatible endpoint (reused by kinds).
export { createS3Client, parseS3Url, s3CredentialsFromSecret } from './client.ts';
export type { S3Client, S3ClientOptions, S3Object, S3Credentials, RequestOptions } from './client.ts';
export { signV4, uriEncode, sha256Hex, EMPTY_SHA256 } from './sign.ts';
export type { SignInput } from './sign.ts';
