import { z } from 'zod';
import { dateTime, identifier, pageCursor, pageLimit, password, personName, phone, roleName } from './common';

export const registerInput = z
  .object({ phone, password, name: personName, communityId: identifier })
  .refine((input) => !input.password.includes(input.phone), { path: ['password'], message: 'must not contain the phone number' });
export const loginInput = z.object({ phone, password: z.string().min(1, 'required').max(128) });
export const grantRoleInput = z.object({ role: roleName });
export const createCommunityInput = z.object({ name: z.string().trim().min(1, 'required').max(50), street: z.string().trim().min(1, 'required').max(50) });
export const applyVolunteerInput = z.object({
  realName: personName,
  skills: z.array(z.string().trim().min(1).max(32)).max(20).default([]),
  /** Resident ID number (居民身份证号); kept only as a salted slow hash and its last 4 characters. */
  idNumber: z
    .string()
    .trim()
    .toUpperCase()
    .regex(/^\d{17}[\dX]$/, 'an 18-character resident ID number')
    .optional(),
});

export const geoFence = z.object({
  lat: z.number().min(-90).max(90),
  lng: z.number().min(-180).max(180),
  radiusMeters: z.number().int().min(10, 'at least 10 m').max(5000, 'at most 5 km'),
});

/** The times of an activity, as checked when it is created and again after every edit. */
export interface ActivitySchedule {
  startAt: string;
  endAt: string;
  signupOpensAt?: string | null | undefined;
  signupClosesAt?: string | null | undefined;
}

/**
 * What is wrong with an activity's times: it ends after it starts, and sign-ups (when limited)
 * open before they close and close by the end. One rule for the gateway's 400 and for the
 * service, which checks the result of an edit against it.
 */
export function activityScheduleIssues(schedule: ActivitySchedule): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  const endMs = Date.parse(schedule.endAt);
  if (endMs <= Date.parse(schedule.startAt)) issues.push({ path: 'endAt', message: 'must be after startAt' });
  const opensMs = schedule.signupOpensAt ? Date.parse(schedule.signupOpensAt) : undefined;
  const closesMs = schedule.signupClosesAt ? Date.parse(schedule.signupClosesAt) : undefined;
  if (closesMs !== undefined && closesMs > endMs) issues.push({ path: 'signupClosesAt', message: 'must not be after endAt' });
  if (opensMs !== undefined && opensMs >= (closesMs ?? endMs))
    issues.push({ path: 'signupOpensAt', message: closesMs === undefined ? 'must be before endAt' : 'must be before signupClosesAt' });
  return issues;
}

const pointsPerHour = z.number().int().min(0).max(1000).describe('love points per verified hour; exactly one of pointsPerHour and rewardPoints');
const rewardPoints = z.number().int().min(0).max(10_000).describe('fixed love points per verified attendance; exactly one of pointsPerHour and rewardPoints');
const bothRewards = 'give either pointsPerHour or rewardPoints, not both';

const activityFields = {
  title: z.string().trim().min(1, 'required').max(100),
  category: z.string().trim().min(1, 'required').max(50),
  description: z.string().trim().max(2000),
  location: geoFence,
  startAt: dateTime,
  endAt: dateTime,
  capacity: z.number().int().min(1).max(10_000),
  pointsPerHour,
  rewardPoints,
  signupOpensAt: dateTime.describe('sign-ups are accepted from then; absent: from publication'),
  signupClosesAt: dateTime.describe('sign-ups are accepted until then, at the latest endAt; absent: until the activity ends'),
};

export const createActivityInput = z
  .object({
    ...activityFields,
    description: activityFields.description.default(''),
    pointsPerHour: pointsPerHour.optional(),
    rewardPoints: rewardPoints.optional(),
    signupOpensAt: activityFields.signupOpensAt.optional(),
    signupClosesAt: activityFields.signupClosesAt.optional(),
  })
  .superRefine((activity, context) => {
    if (activity.pointsPerHour !== undefined && activity.rewardPoints !== undefined)
      context.addIssue({ code: 'custom', path: ['rewardPoints'], message: bothRewards });
    if (activity.pointsPerHour === undefined && activity.rewardPoints === undefined)
      context.addIssue({ code: 'custom', path: ['pointsPerHour'], message: 'required unless rewardPoints is given' });
    for (const issue of activityScheduleIssues(activity)) context.addIssue({ code: 'custom', path: [issue.path], message: issue.message });
  });

/**
 * An edit: only the fields given change. `null` removes a sign-up limit. Which fields an activity
 * takes depends on its state, which only the service knows, so that is checked there.
 */
export const updateActivityInput = z
  .object({
    title: activityFields.title.optional(),
    category: activityFields.category.optional(),
    description: activityFields.description.optional(),
    location: geoFence.optional(),
    startAt: dateTime.optional(),
    endAt: dateTime.optional(),
    capacity: activityFields.capacity.optional(),
    pointsPerHour: pointsPerHour.optional(),
    rewardPoints: rewardPoints.optional(),
    signupOpensAt: activityFields.signupOpensAt.nullable().optional(),
    signupClosesAt: activityFields.signupClosesAt.nullable().optional(),
  })
  .superRefine((patch, context) => {
    if (patch.pointsPerHour !== undefined && patch.rewardPoints !== undefined)
      context.addIssue({ code: 'custom', path: ['rewardPoints'], message: bothRewards });
    if (Object.values(patch).every((value) => value === undefined)) context.addIssue({ code: 'custom', path: [], message: 'nothing to change' });
  });

export type ActivityPatch = z.output<typeof updateActivityInput>;

export const activityStatus = z.enum(['draft', 'published', 'in_progress', 'completed', 'cancelled']);

export const listActivitiesInput = z.object({
  status: activityStatus.optional(),
  communityId: identifier.optional().describe('street admins: one community of their street; absent: all of them'),
  from: dateTime.optional(),
  to: dateTime.optional(),
  limit: pageLimit,
  cursor: pageCursor,
});

export const checkInput = z.object({
  code: z.string().min(1, 'required').max(300),
  lat: z.number().min(-90).max(90),
  lng: z.number().min(-180).max(180),
});

export const completeActivityInput = z.object({
  adjustments: z
    .array(
      z.object({
        userId: identifier,
        minutes: z
          .number()
          .int()
          .min(0)
          .max(24 * 60),
        reason: z.string().trim().min(1, 'a reason is required').max(200),
      }),
    )
    .max(1000)
    .default([]),
});

export const reportCategory = z.enum(['environment', 'safety', 'facilities', 'neighbourhood', 'elderly_care', 'other']);
export const fileReportInput = z.object({
  category: reportCategory,
  text: z.string().trim().min(1, 'required').max(1000),
  address: z.string().trim().max(200).default(''),
  photoUrl: z.union([z.url({ protocol: /^https$/, message: 'an https URL' }), z.literal('')]).default(''),
  gridId: identifier.optional().describe('a grid of your community; absent: your own grid'),
});
export const reportStatus = z.enum(['open', 'accepted', 'rejected']);
export const acceptReportInput = z.object({ points: z.number().int().min(0).max(10_000).default(0), note: z.string().trim().max(200).default('') });
export const rejectReportInput = z.object({ reason: z.string().trim().min(1, 'a reason is required').max(200) });

export const recordAttendanceInput = z.object({
  userId: identifier,
  action: z.enum(['check_in', 'check_out']),
  at: dateTime.optional(),
  reason: z.string().trim().min(1, 'a reason is required').max(200),
});
export const cancelActivityInput = z.object({ reason: z.string().trim().min(1, 'a reason is required').max(200) });

const placeName = z.string().trim().min(1, 'required').max(50);
export const createGridInput = z.object({ name: placeName, leaderUserId: identifier.optional() });
export const updateGridInput = z
  .object({ name: placeName.optional(), leaderUserId: identifier.nullable().optional().describe('null removes the leader') })
  .refine((patch) => patch.name !== undefined || patch.leaderUserId !== undefined, { path: [], message: 'nothing to change' });
export const createBuildingInput = z.object({ name: placeName });
/** Where a member lives: `null` removes; a building alone implies its grid. */
export const updateMyPlaceInput = z
  .object({ gridId: identifier.nullable().optional(), buildingId: identifier.nullable().optional() })
  .refine((patch) => patch.gridId !== undefined || patch.buildingId !== undefined, { path: [], message: 'give gridId or buildingId' });
export const reportLevel = z.enum(['grid', 'community', 'street']);
export const listReportsInput = z.object({
  status: reportStatus.optional(),
  communityId: identifier.optional(),
  gridId: identifier.optional(),
  level: reportLevel.optional(),
});

export const createTeamInput = z.object({
  name: z.string().trim().min(1, 'required').max(50),
  leaderUserId: identifier,
  description: z.string().trim().max(500).default(''),
});
export const changeTeamLeaderInput = z.object({ leaderUserId: identifier.describe('the new leader, a volunteer of the team’s community') });
export const addTeamMemberInput = z.object({ userId: identifier.optional().describe('the volunteer to add; absent: you join') });
