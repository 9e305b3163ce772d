import { z } from 'zod';
import { identifier, phone } from './common';

/** Time bank commands beyond placing an order (services.ts has the order itself). */
export const completeServiceRequestInput = z.object({
  actualMinutes: z
    .number()
    .int()
    .min(1, 'at least 1 minute')
    .max(24 * 60, 'at most 24 hours'),
});
export const assignServiceRequestInput = z.object({ volunteerUserId: identifier });
export const disputeServiceRequestInput = z.object({ reason: z.string().trim().min(1, 'a reason is required').max(500) });
export const resolveDisputeInput = z.object({
  decision: z.enum(['pay', 'cancel']),
  /** Minutes to pay; when left out, the minutes the volunteer recorded. */
  minutes: z
    .number()
    .int()
    .min(1)
    .max(24 * 60)
    .optional(),
  note: z.string().trim().max(500).default(''),
});
export const rateServiceRequestInput = z.object({
  stars: z.number().int().min(1, 'from 1').max(5, 'to 5 stars'),
  comment: z.string().trim().max(500).default(''),
});
export const cancelServiceRequestInput = z.object({ reason: z.string().trim().max(200).default('') });

export const familyRelationship = z.enum(['spouse', 'parent', 'child', 'sibling', 'grandparent', 'grandchild', 'other']);
export const createFamilyLinkInput = z.object({
  relativePhone: phone,
  relationship: familyRelationship,
  /** The caller agrees to pay for the relative's orders from their own minutes. */
  requesterPays: z.boolean().default(false),
});
export const approveFamilyLinkInput = z.object({
  /** The approving relative agrees to pay for the requester's orders. */
  relativePays: z.boolean().default(false),
});

export const donateInput = z.object({ minutes: z.number().int().min(1, 'at least 1 minute').max(6000, 'at most 100 hours') });

export const setBeneficiaryInput = z.object({
  poolEligible: z.boolean().default(false),
  birthDate: z.iso.date('expected a date, e.g. 1950-03-01').optional(),
});
