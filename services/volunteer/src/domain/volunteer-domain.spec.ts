import { attendedMinutes, distanceMeters, withinCheckinWindow } from './attendance-rules';
import { issueCheckinCode, verifyCheckinCode } from './checkin-code';
import { hashPassword, verifyPassword } from './password';

const settings = { secret: 'test-secret-test-secret-test-secret', lifetimeSeconds: 30 };

describe('check-in codes', () => {
  const now = new Date('2026-11-23T08:00:00Z');

  it('accepts a fresh code of the same activity', () => {
    const { code, expiresAt } = issueCheckinCode(settings, 'activity-1', now);
    expect(verifyCheckinCode(settings, 'activity-1', code, now)).toBe('valid');
    expect(expiresAt.getTime()).toBeGreaterThan(now.getTime());
    expect(expiresAt.getTime() - now.getTime()).toBeLessThanOrEqual(30_000);
  });

  it('refuses a code after it expires', () => {
    const { code, expiresAt } = issueCheckinCode(settings, 'activity-1', now);
    expect(verifyCheckinCode(settings, 'activity-1', code, new Date(expiresAt.getTime() - 1))).toBe('valid');
    expect(verifyCheckinCode(settings, 'activity-1', code, expiresAt)).toBe('expired');
  });

  it('refuses a code of another activity, a forged one and garbage', () => {
    const { code } = issueCheckinCode(settings, 'activity-1', now);
    expect(verifyCheckinCode(settings, 'activity-2', code, now)).toBe('wrong_activity');
    const forged = issueCheckinCode({ ...settings, secret: 'another-secret-another-secret-xx' }, 'activity-1', now).code;
    expect(verifyCheckinCode(settings, 'activity-1', forged, now)).toBe('malformed');
    expect(verifyCheckinCode(settings, 'activity-1', 'garbage', now)).toBe('malformed');
  });
});

describe('attendance rules', () => {
  const window = { startAt: new Date('2026-11-23T08:00:00Z'), endAt: new Date('2026-11-23T10:00:00Z') };

  it('counts only the overlap with the window, in whole steps', () => {
    expect(attendedMinutes({ checkedInAt: new Date('2026-11-23T07:30:00Z'), checkedOutAt: new Date('2026-11-23T09:07:00Z') }, window, 5)).toBe(65);
    expect(attendedMinutes({ checkedInAt: new Date('2026-11-23T09:00:00Z'), checkedOutAt: new Date('2026-11-23T11:00:00Z') }, window, 1)).toBe(60);
    expect(attendedMinutes({ checkedInAt: new Date('2026-11-23T10:30:00Z'), checkedOutAt: new Date('2026-11-23T11:00:00Z') }, window, 1)).toBe(0);
  });

  it('opens the check-in window early by the grace period only', () => {
    expect(withinCheckinWindow(new Date('2026-11-23T07:31:00Z'), window, 30)).toBe(true);
    expect(withinCheckinWindow(new Date('2026-11-23T07:29:00Z'), window, 30)).toBe(false);
    expect(withinCheckinWindow(new Date('2026-11-23T10:00:01Z'), window, 30)).toBe(false);
  });

  it('measures distances on the globe', () => {
    const tiananmen = { lat: 39.9075, lng: 116.39723 };
    expect(distanceMeters(tiananmen, tiananmen)).toBe(0);
    // One thousandth of a degree of latitude is about 111 m.
    expect(distanceMeters(tiananmen, { lat: 39.9085, lng: 116.39723 })).toBeCloseTo(111.2, 0);
  });
});

describe('passwords', () => {
  it('verifies the right password only', async () => {
    const stored = await hashPassword('correct horse battery');
    expect(stored).not.toContain('correct horse');
    await expect(verifyPassword('correct horse battery', stored)).resolves.toBe(true);
    await expect(verifyPassword('wrong', stored)).resolves.toBe(false);
  });
});
