import { DomainError } from '@lovepoints/errors';
import { activityChanges, ensureSchedule, lockedFields, rewardOf, signupWindowRefusal } from './activity-rules';

describe('activity rules', () => {
  it('locks the reward once published and everything once running', () => {
    expect(lockedFields('draft', { rewardPoints: 5, title: 'x' })).toEqual([]);
    expect(lockedFields('published', { rewardPoints: 5, title: 'x', capacity: 3 })).toEqual(['rewardPoints']);
    expect(lockedFields('in_progress', { title: 'x' })).toEqual(['title']);
    expect(lockedFields('published', { title: undefined })).toEqual([]);
  });

  it('turns a patch into stored values, a reward switching the rule and null removing a limit', () => {
    expect(activityChanges({ rewardPoints: 20, signupOpensAt: null, startAt: '2026-01-01T08:00:00+08:00' })).toEqual({
      rewardPoints: 20,
      pointsPerHour: 0,
      signupOpensAt: null,
      startAt: new Date('2026-01-01T00:00:00Z'),
    });
    expect(activityChanges({ pointsPerHour: 8 })).toEqual({ pointsPerHour: 8, rewardPoints: null });
    expect(rewardOf({ pointsPerHour: 0, rewardPoints: 20 })).toEqual({ rule: 'fixed', points: 20 });
    expect(rewardOf({ pointsPerHour: 8, rewardPoints: null })).toEqual({ rule: 'per_hour', pointsPerHour: 8 });
  });

  it('refuses times that do not fit together, naming the fields', () => {
    const at = (hour: number) => new Date(Date.UTC(2026, 0, 1, hour));
    expect(() => ensureSchedule({ startAt: at(8), endAt: at(10), signupOpensAt: at(1), signupClosesAt: at(9) })).not.toThrow();
    try {
      ensureSchedule({ startAt: at(8), endAt: at(7), signupOpensAt: at(6), signupClosesAt: at(9) });
      throw new Error('expected a refusal');
    } catch (error) {
      expect((error as DomainError).fieldErrors.map((issue) => issue.path)).toEqual(['endAt', 'signupClosesAt']);
    }
  });

  it('says why a sign-up is outside the window, the closing moment itself included', () => {
    const window = { signupOpensAt: new Date(1000), signupClosesAt: new Date(2000) };
    expect(signupWindowRefusal(new Date(999), window)?.code).toBe('signup_not_open');
    expect(signupWindowRefusal(new Date(1000), window)).toBeUndefined();
    expect(signupWindowRefusal(new Date(2000), window)?.code).toBe('signup_closed');
    expect(signupWindowRefusal(new Date(0), { signupOpensAt: null, signupClosesAt: null })).toBeUndefined();
  });
});
