import { z } from 'zod';
import { defineEvent } from './envelope';

/** Kafka topics, named `<service>.<entity>.v1`; each has a `<topic>.dlq` for poison messages. */
export const topics = {
  attendance: 'volunteer.attendance.v1',
  report: 'volunteer.report.v1',
  transfer: 'points.transfer.v1',
  redeemOrder: 'redeem.order.v1',
  timebankOrder: 'timebank.order.v1',
} as const;

export function deadLetterTopic(topic: string): string {
  return `${topic}.dlq`;
}

/** Every topic the platform uses, dead-letter topics included; created explicitly at start-up. */
export const allTopics: string[] = Object.values(topics).flatMap((topic) => [topic, deadLetterTopic(topic)]);

const attendanceFacts = {
  attendanceId: z.string().min(1),
  activityId: z.string().min(1),
  userId: z.string().min(1),
  communityId: z.string().min(1),
  minutes: z
    .number()
    .int()
    .min(0)
    .max(24 * 60),
  verifiedAt: z.iso.datetime(),
};

/**
 * A volunteer's attendance was verified by the organizer. The ledger credits love points and
 * TIME minutes once per attendance, whatever the redelivery. Version 1 carries an hourly rate;
 * the volunteer service still sends it for activities rewarded by the hour, so consumers that
 * know only version 1 keep crediting those.
 */
export const attendanceVerified = defineEvent({
  type: 'AttendanceVerified',
  version: 1,
  topic: topics.attendance,
  dataSchema: z.object({ ...attendanceFacts, pointsPerHour: z.number().int().min(0).max(1000) }),
});

/**
 * Version 2 of AttendanceVerified: the reward is either an hourly rate or a fixed number of
 * points per attendance. A fixed reward cannot be said in version 1, and adding it there as an
 * optional field would let a version-1 consumer credit 0 points without noticing; a version-1
 * consumer dead-letters a version-2 event instead, from where it can be replayed.
 */
export const attendanceVerifiedV2 = defineEvent({
  type: 'AttendanceVerified',
  version: 2,
  topic: topics.attendance,
  dataSchema: z.object({
    ...attendanceFacts,
    reward: z.discriminatedUnion('rule', [
      z.object({ rule: z.literal('per_hour'), pointsPerHour: z.number().int().min(0).max(1000) }),
      z.object({ rule: z.literal('fixed'), points: z.number().int().min(0).max(10_000) }),
    ]),
  }),
});

export type AttendanceVerifiedData = z.output<typeof attendanceVerified.dataSchema>;
export type AttendanceVerifiedV2Data = z.output<typeof attendanceVerifiedV2.dataSchema>;
/** An activity's reward rule, as version 2 of AttendanceVerified carries it. */
export type AttendanceReward = AttendanceVerifiedV2Data['reward'];

/**
 * The love points an activity's rule promises for verified minutes: whole points for the
 * verified time at the hourly rate, rounded down; or the fixed reward for any verified time
 * (an attendance corrected to 0 minutes earns nothing). Part of the event's contract, so the
 * organizer's completion screen and the ledger agree.
 */
export function attendanceRewardPoints(data: { minutes: number } & ({ pointsPerHour: number } | { reward: AttendanceReward })): number {
  const reward: AttendanceReward = 'reward' in data ? data.reward : { rule: 'per_hour', pointsPerHour: data.pointsPerHour };
  switch (reward.rule) {
    case 'per_hour':
      return Math.floor((data.minutes * reward.pointsPerHour) / 60);
    case 'fixed':
      return data.minutes > 0 ? reward.points : 0;
  }
}

const transferFacts = {
  transferId: z.string().min(1),
  asset: z.enum(['POINTS', 'TIME']),
  debitAccountId: z.string().min(1),
  creditAccountId: z.string().min(1),
  reason: z.string().min(1),
  reference: z.string(),
  communityId: z.string(),
};

/** A transfer was posted: the amount moved for good (directly, or by posting a hold). */
export const transferPosted = defineEvent({
  type: 'TransferPosted',
  version: 1,
  topic: topics.transfer,
  dataSchema: z.object({ ...transferFacts, amount: z.number().int().positive(), postedAt: z.iso.datetime() }),
});

/** A hold was placed: the amount is reserved until it is posted, voided or expires. */
export const holdPlaced = defineEvent({
  type: 'HoldPlaced',
  version: 1,
  topic: topics.transfer,
  dataSchema: z.object({ ...transferFacts, heldAmount: z.number().int().positive(), expiresAt: z.iso.datetime() }),
});

/** A hold was voided (cancelled or expired): the amount returned to the payer. */
export const holdVoided = defineEvent({
  type: 'HoldVoided',
  version: 1,
  topic: topics.transfer,
  dataSchema: z.object({ ...transferFacts, heldAmount: z.number().int().positive(), voidedAt: z.iso.datetime(), expired: z.boolean() }),
});

const reportFacts = {
  reportId: z.string().min(1),
  communityId: z.string().min(1),
  reporterUserId: z.string().min(1),
  category: z.string().min(1),
};

/**
 * An organizer accepted a resident's problem report (我有事要说). The ledger awards the reporter
 * `points`, or the community's report points when it is 0, within the caps, once per event.
 */
export const reportAccepted = defineEvent({
  type: 'ReportAccepted',
  version: 1,
  topic: topics.report,
  dataSchema: z.object({ ...reportFacts, points: z.number().int().min(0).max(10_000), acceptedByUserId: z.string().min(1), acceptedAt: z.iso.datetime() }),
});

/** Nobody handled a report by its deadline, so it moved up a level: grid → community → street. */
export const reportEscalated = defineEvent({
  type: 'ReportEscalated',
  version: 1,
  topic: topics.report,
  dataSchema: z.object({ ...reportFacts, fromLevel: z.enum(['grid', 'community']), toLevel: z.enum(['community', 'street']), escalatedAt: z.iso.datetime() }),
});

export type ReportAcceptedData = z.output<typeof reportAccepted.dataSchema>;

const redemptionFacts = {
  redemptionId: z.string().min(1),
  kind: z.enum(['order', 'counter']),
  communityId: z.string().min(1),
  shopId: z.string().min(1),
  itemId: z.string().min(1),
  userId: z.string().min(1),
  quantity: z.number().int().positive(),
  pricePoints: z.number().int().positive(),
};

/** A resident ordered an item: stock is reserved and the points are held until pickup. */
export const redemptionPlaced = defineEvent({
  type: 'RedemptionPlaced',
  version: 1,
  topic: topics.redeemOrder,
  dataSchema: z.object({ ...redemptionFacts, expiresAt: z.iso.datetime(), placedAt: z.iso.datetime() }),
});

/** The goods were handed over (a pickup code or a counter sale): the points went to the shop. */
export const redemptionFulfilled = defineEvent({
  type: 'RedemptionFulfilled',
  version: 1,
  topic: topics.redeemOrder,
  dataSchema: z.object({ ...redemptionFacts, fulfilledAt: z.iso.datetime() }),
});

/** A pending order was cancelled: the points returned to the resident and the stock to the shelf. */
export const redemptionCancelled = defineEvent({
  type: 'RedemptionCancelled',
  version: 1,
  topic: topics.redeemOrder,
  dataSchema: z.object({ ...redemptionFacts, cancelledAt: z.iso.datetime() }),
});

/** Nobody picked an order up by its deadline: points and stock returned as on a cancel. */
export const redemptionExpired = defineEvent({
  type: 'RedemptionExpired',
  version: 1,
  topic: topics.redeemOrder,
  dataSchema: z.object({ ...redemptionFacts, expiredAt: z.iso.datetime() }),
});
