import { WindowLimiter } from './rate-limit';

describe('WindowLimiter', () => {
  it('allows the limit per key and window, then tells when to retry', () => {
    let now = 1_000_000;
    const limiter = new WindowLimiter(3, 60_000, () => now);
    expect([1, 2, 3].map(() => limiter.take('a').allowed)).toEqual([true, true, true]);
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterSeconds: 60 });
    expect(limiter.take('b').allowed).toBe(true);
    now += 45_500;
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterSeconds: 15 });
    now += 14_500;
    expect(limiter.take('a').allowed).toBe(true);
  });
});
