import { idempotentOrderId, limitPeriodKey, saleVerdict } from './order-rules';
import { counterSaleOrderId, issueMemberCode, normalizePickupCode, pickupCode, pickupKey, verifyMemberCode } from './codes';

describe('order rules', () => {
  const china = 480;

  it('counts per-person periods in local time', () => {
    // 2026-05-31 17:00 UTC is already June 1st in China, a Monday.
    const at = new Date('2026-05-31T17:00:00Z');
    expect(limitPeriodKey('day', at, china)).toBe('2026-06-01');
    expect(limitPeriodKey('month', at, china)).toBe('2026-06');
    expect(limitPeriodKey('week', at, china)).toBe('w2026-06-01');
    expect(limitPeriodKey('week', new Date('2026-06-07T15:59:00Z'), china)).toBe('w2026-06-01');
    expect(limitPeriodKey('week', new Date('2026-06-07T16:00:00Z'), china)).toBe('w2026-06-08');
    expect(limitPeriodKey('month', at, 0)).toBe('2026-05');
    expect(limitPeriodKey('all', at, china)).toBe('all');
  });

  it('sells an item only while active and inside its window', () => {
    const now = new Date('2026-05-14T10:00:00Z');
    const item = { active: true, activeFrom: null, activeUntil: null };
    expect(saleVerdict(item, now)).toBe('on_sale');
    expect(saleVerdict({ ...item, active: false }, now)).toBe('item_inactive');
    expect(saleVerdict({ ...item, activeFrom: new Date('2026-05-15T00:00:00Z') }, now)).toBe('not_on_sale_yet');
    expect(saleVerdict({ ...item, activeUntil: now }, now)).toBe('sale_ended');
  });

  it('derives one order id per resident and key', () => {
    expect(idempotentOrderId('u1', 'key-12345')).toBe(idempotentOrderId('u1', 'key-12345'));
    expect(idempotentOrderId('u1', 'key-12345')).not.toBe(idempotentOrderId('u2', 'key-12345'));
  });
});

describe('codes', () => {
  const settings = { secret: 'a-secret-of-sixteen-chars', lifetimeSeconds: 60 };
  const now = new Date('2026-05-14T10:00:00Z');

  it('makes 12-digit pickup codes that depend on the secret, the order and the nonce', () => {
    const code = pickupCode(settings.secret, 'order-1', 0);
    expect(code).toMatch(/^\d{12}$/);
    expect(pickupCode(settings.secret, 'order-1', 0)).toBe(code);
    expect(pickupCode(settings.secret, 'order-1', 1)).not.toBe(code);
    expect(pickupCode('another-secret-value', 'order-1', 0)).not.toBe(code);
    expect(pickupKey('shop-a', code)).not.toBe(pickupKey('shop-b', code));
    expect(normalizePickupCode(' 1234-5678 9012 ')).toBe('123456789012');
    expect(normalizePickupCode(`lovepoints:pickup:shop-a:${code}`)).toBe(code);
  });

  it('accepts a member code until it expires, and nothing forged', () => {
    const issued = issueMemberCode(settings, { userId: 'u1', communityId: 'c1' }, now);
    expect(verifyMemberCode(settings, issued.code, now)).toEqual({ verdict: 'valid', userId: 'u1', communityId: 'c1' });
    expect(verifyMemberCode(settings, issued.qrPayload, now)).toMatchObject({ verdict: 'valid' });
    expect(verifyMemberCode(settings, issued.code, new Date(now.getTime() + 60_000))).toEqual({ verdict: 'expired' });
    expect(verifyMemberCode({ ...settings, secret: 'another-secret-value' }, issued.code, now)).toEqual({ verdict: 'malformed' });
    const [payload, signature] = issued.code.split('.');
    const forged = Buffer.from(JSON.stringify({ u: 'u2', c: 'c1', e: now.getTime() + 60_000, n: 'x' })).toString('base64url');
    expect(verifyMemberCode(settings, `${forged}.${signature}`, now)).toEqual({ verdict: 'malformed' });
    expect(verifyMemberCode(settings, `${payload}`, now)).toEqual({ verdict: 'malformed' });
    expect(verifyMemberCode(settings, 'not a code', now)).toEqual({ verdict: 'malformed' });
    expect(counterSaleOrderId(issued.code)).toBe(counterSaleOrderId(issued.qrPayload));
    expect(issueMemberCode(settings, { userId: 'u1', communityId: 'c1' }, now).code).not.toBe(issued.code);
  });
});
