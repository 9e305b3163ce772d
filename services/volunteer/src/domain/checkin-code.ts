import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Rotating check-in codes. The organizer's screen shows a code that is an HMAC over the activity
 * id and the current time slot; a code is accepted during its own slot and the next one, so its
 * life is between one and two slots (one slot = half the configured lifetime). A code of another
 * activity or of an older slot is refused, so a forwarded screenshot goes stale within seconds.
 */
export interface CheckinCodeSettings {
  secret: string;
  lifetimeSeconds: number;
}

export type CheckinCodeVerdict = 'valid' | 'expired' | 'wrong_activity' | 'malformed';

function slotLengthMs(settings: CheckinCodeSettings): number {
  return Math.max(1, Math.floor(settings.lifetimeSeconds / 2)) * 1000;
}

function signature(settings: CheckinCodeSettings, activityId: string, slot: number): string {
  return createHmac('sha256', settings.secret).update(`checkin:${activityId}:${slot}`).digest('base64url').slice(0, 22);
}

export function issueCheckinCode(settings: CheckinCodeSettings, activityId: string, now: Date): { code: string; expiresAt: Date } {
  const slotMs = slotLengthMs(settings);
  const slot = Math.floor(now.getTime() / slotMs);
  const code = `${Buffer.from(activityId).toString('base64url')}.${slot}.${signature(settings, activityId, slot)}`;
  return { code, expiresAt: new Date((slot + 2) * slotMs) };
}

export function verifyCheckinCode(settings: CheckinCodeSettings, activityId: string, code: string, now: Date): CheckinCodeVerdict {
  const parts = code.split('.');
  if (parts.length !== 3) return 'malformed';
  const [encodedActivity = '', slotText = '', givenSignature = ''] = parts;
  const slot = Number(slotText);
  if (!Number.isSafeInteger(slot)) return 'malformed';
  const codeActivityId = Buffer.from(encodedActivity, 'base64url').toString();
  const expected = Buffer.from(signature(settings, codeActivityId, slot));
  const given = Buffer.from(givenSignature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'malformed';
  if (codeActivityId !== activityId) return 'wrong_activity';
  const currentSlot = Math.floor(now.getTime() / slotLengthMs(settings));
  if (slot !== currentSlot && slot !== currentSlot - 1) return 'expired';
  return 'valid';
}
