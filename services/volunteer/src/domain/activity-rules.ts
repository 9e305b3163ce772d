import { activityScheduleIssues, type ActivityPatch } from '@lovepoints/contracts';
import { DomainError } from '@lovepoints/errors';
import type { AttendanceReward } from '@lovepoints/events';
import type { ActivityStatus } from '../store/models';

/**
 * Fields the organizer may change in each state. A draft is the organizer's own; once published,
 * volunteers signed up under its reward, so the reward stays; once anyone has checked in (in
 * progress) the record is evidence and nothing changes. Published means nobody has checked in:
 * the first check-in moves the activity to in progress before it is recorded.
 */
const editableFields: Record<ActivityStatus, ReadonlySet<keyof ActivityPatch>> = {
  draft: new Set([
    'title',
    'category',
    'description',
    'location',
    'startAt',
    'endAt',
    'capacity',
    'pointsPerHour',
    'rewardPoints',
    'signupOpensAt',
    'signupClosesAt',
  ]),
  published: new Set(['title', 'category', 'description', 'location', 'startAt', 'endAt', 'capacity', 'signupOpensAt', 'signupClosesAt']),
  in_progress: new Set(),
  completed: new Set(),
  cancelled: new Set(),
};

/** The fields of a patch that the activity's state does not let change. */
export function lockedFields(status: ActivityStatus, patch: ActivityPatch): (keyof ActivityPatch)[] {
  return (Object.keys(patch) as (keyof ActivityPatch)[]).filter((field) => patch[field] !== undefined && !editableFields[status].has(field));
}

interface ActivityTimes {
  startAt: Date;
  endAt: Date;
  signupOpensAt: Date | null;
  signupClosesAt: Date | null;
}

/** Refuses times that do not fit together (see activityScheduleIssues), naming the fields. */
export function ensureSchedule(times: ActivityTimes): void {
  const issues = activityScheduleIssues({
    startAt: times.startAt.toISOString(),
    endAt: times.endAt.toISOString(),
    signupOpensAt: times.signupOpensAt?.toISOString(),
    signupClosesAt: times.signupClosesAt?.toISOString(),
  });
  if (issues.length > 0) throw new DomainError('invalid_argument', 'invalid_schedule', 'The activity’s times do not fit together.', issues);
}

/** A patch as stored values: dates parsed, `null` removing a sign-up limit, a reward switching the rule. */
export function activityChanges(patch: ActivityPatch): Record<string, unknown> {
  const changes: Record<string, unknown> = {};
  const date = (value: string | null) => (value === null ? null : new Date(value));
  for (const [field, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    changes[field] = field === 'startAt' || field === 'endAt' || field === 'signupOpensAt' || field === 'signupClosesAt' ? date(value as string | null) : value;
  }
  if (patch.pointsPerHour !== undefined) changes.rewardPoints = null;
  if (patch.rewardPoints !== undefined) changes.pointsPerHour = 0;
  return changes;
}

/** The activity's reward rule, in the form the AttendanceVerified event carries it. */
export function rewardOf(activity: { pointsPerHour: number; rewardPoints: number | null }): AttendanceReward {
  return activity.rewardPoints === null ? { rule: 'per_hour', pointsPerHour: activity.pointsPerHour } : { rule: 'fixed', points: activity.rewardPoints };
}

/** Why a sign-up at `now` is outside the activity's sign-up window, or undefined when it is inside. */
export function signupWindowRefusal(
  now: Date,
  window: { signupOpensAt: Date | null; signupClosesAt: Date | null },
): { code: string; message: string } | undefined {
  if (window.signupOpensAt !== null && now.getTime() < window.signupOpensAt.getTime())
    return { code: 'signup_not_open', message: `Sign-ups open at ${window.signupOpensAt.toISOString()}.` };
  if (window.signupClosesAt !== null && now.getTime() >= window.signupClosesAt.getTime())
    return { code: 'signup_closed', message: `Sign-ups closed at ${window.signupClosesAt.toISOString()}.` };
  return undefined;
}
