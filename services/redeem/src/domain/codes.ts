import { keyDigest } from '@lovepoints/mongo';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The two codes of the supermarket. Both are HMACs under the service's secret, so nobody
 * without it can make one up, and neither is stored in a form that would let a database reader
 * use it.
 *
 * A pickup code is 12 digits derived from the order id (and a nonce, bumped in the rare case
 * two orders of a shop would get the same code). The resident can be shown it again at any
 * time; the order stores only a hash of shop and code, which is what the shop's lookup uses.
 */
export const pickupCodeDigits = 12;

export function pickupCode(secret: string, orderId: string, nonce: number): string {
  const digest = createHmac('sha256', secret).update(`pickup:${orderId}:${nonce}`).digest();
  return (digest.readBigUInt64BE(0) % 10n ** BigInt(pickupCodeDigits)).toString().padStart(pickupCodeDigits, '0');
}

/** What a code typed or scanned at the counter becomes: digits only (spaces and dashes dropped). */
export function normalizePickupCode(input: string): string {
  const scanned = /^lovepoints:pickup:[^:]+:(.+)$/.exec(input.trim());
  return (scanned?.[1] ?? input).replace(/[\s-]/g, '');
}

/** The unique lookup key of a pickup code at one shop: a code of another shop finds nothing. */
export function pickupKey(shopId: string, code: string): string {
  return keyDigest(`${shopId}:${code}`);
}

export function pickupQrPayload(shopId: string, code: string): string {
  return `lovepoints:pickup:${shopId}:${code}`;
}

/**
 * A member code: the resident's id and community with an expiry and a nonce, signed. The
 * shopkeeper scans it to sell at the counter; each code pays for one sale at most, because the
 * sale's order id is derived from the code.
 */
export interface MemberCodeSettings {
  secret: string;
  lifetimeSeconds: number;
}

export type MemberCodeVerdict = { verdict: 'valid'; userId: string; communityId: string } | { verdict: 'expired' } | { verdict: 'malformed' };

const memberQrPrefix = 'lovepoints:member:';

function memberSignature(secret: string, payload: string): Buffer {
  return createHmac('sha256', secret).update(`member:${payload}`).digest().subarray(0, 24);
}

export function issueMemberCode(settings: MemberCodeSettings, member: { userId: string; communityId: string }, now: Date) {
  const expiresAt = new Date(now.getTime() + settings.lifetimeSeconds * 1000);
  const payload = Buffer.from(
    JSON.stringify({ u: member.userId, c: member.communityId, e: expiresAt.getTime(), n: randomBytes(9).toString('base64url') }),
  ).toString('base64url');
  const code = `${payload}.${memberSignature(settings.secret, payload).toString('base64url')}`;
  return { code, qrPayload: `${memberQrPrefix}${code}`, expiresAt };
}

export function verifyMemberCode(settings: MemberCodeSettings, input: string, now: Date): MemberCodeVerdict {
  const code = input.trim().startsWith(memberQrPrefix) ? input.trim().slice(memberQrPrefix.length) : input.trim();
  const [payload = '', signatureText = '', ...rest] = code.split('.');
  if (rest.length > 0 || payload === '') return { verdict: 'malformed' };
  const expected = memberSignature(settings.secret, payload);
  const given = Buffer.from(signatureText, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { verdict: 'malformed' };
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as { u?: unknown; c?: unknown; e?: unknown };
  if (typeof claims.u !== 'string' || typeof claims.c !== 'string' || typeof claims.e !== 'number') return { verdict: 'malformed' };
  if (claims.e <= now.getTime()) return { verdict: 'expired' };
  return { verdict: 'valid', userId: claims.u, communityId: claims.c };
}

/** The order id of a counter sale: one per member code, so a code can never pay twice. */
export function counterSaleOrderId(memberCode: string): string {
  const code = memberCode.trim().startsWith(memberQrPrefix) ? memberCode.trim().slice(memberQrPrefix.length) : memberCode.trim();
  return `counter-${keyDigest(code, 32)}`;
}
