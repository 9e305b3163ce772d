import { z } from 'zod';
import { dateTime, identifier } from './common';

export const serviceCategory = z.enum(['companionship', 'shopping', 'cleaning', 'medical_escort', 'repair', 'other']);
export const serviceRequestStatus = z.enum(['open', 'accepted', 'in_progress', 'completed', 'disputed', 'verified', 'rated', 'cancelled']);

export const createServiceRequestInput = z
  .object({
    category: serviceCategory,
    description: z.string().trim().min(1, 'required').max(500),
    startAt: dateTime,
    minutes: z.number().int().min(15, 'at least 15 minutes').max(480, 'at most 8 hours'),
    beneficiaryUserId: identifier.optional(),
    place: z.string().trim().max(200).default(''),
    /** The order must be taken by then or it escalates; by default a window before the start. */
    acceptBy: dateTime.optional(),
  })
  .refine((order) => order.acceptBy === undefined || Date.parse(order.acceptBy) <= Date.parse(order.startAt), {
    path: ['acceptBy'],
    message: 'must not be after startAt',
  });

export const listServiceRequestsInput = z.object({ status: serviceRequestStatus.optional() });
