import { createHash } from 'node:crypto';

/**
 * A fixed-length document key derived from any text (SHA-256, base64url), optionally cut to
 * `length` characters: for ids that must be the same on every retry (idempotency keys, grants),
 * or for looking something up without storing it (tokens, pickup codes, phone numbers).
 */
export function keyDigest(text: string, length?: number): string {
  const digest = createHash('sha256').update(text).digest('base64url');
  return length === undefined ? digest : digest.slice(0, length);
}
