import { z } from 'zod';
import { dateTime, identifier, pageCursor, pageLimit, password, personName, phone, roleName } from './common';

export const registerInput = z.object({ phone, password, name: personName, communityId: identifier });
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

export const createActivityInput = z
  .object({
    title: z.string().trim().min(1, 'required').max(100),
    category: z.string().trim().min(1, 'required').max(50),
    location: geoFence,
    startAt: dateTime,
    endAt: dateTime,
    capacity: z.number().int().min(1).max(10_000),
    pointsPerHour: z.number().int().min(0).max(1000),
  })
  .refine((activity) => Date.parse(activity.endAt) > Date.parse(activity.startAt), { path: ['endAt'], message: 'must be after startAt' });

export const activityStatus = z.enum(['draft', 'published', 'in_progress', 'completed', 'cancelled']);

export const listActivitiesInput = z.object({
  status: activityStatus.optional(),
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
