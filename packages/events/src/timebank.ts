import { z } from 'zod';
import { topics } from './catalog';
import { defineEvent, type EventDefinition } from './envelope';

/**
 * Facts of a time bank service order (timebank.order.v1), keyed by the order id. Every event
 * carries who is involved and the status the order reached, so a consumer needs no lookup.
 */
const orderFacts = {
  orderId: z.string().min(1),
  communityId: z.string().min(1),
  requesterUserId: z.string().min(1),
  beneficiaryUserId: z.string().min(1),
  /** Empty while nobody serves the order. */
  volunteerUserId: z.string(),
  category: z.string().min(1),
  status: z.string().min(1),
  at: z.iso.datetime(),
};

function orderEvent<Extra extends z.ZodRawShape>(type: string, extra: Extra): EventDefinition<z.output<z.ZodObject<typeof orderFacts & Extra>>> {
  return defineEvent({ type, version: 1, topic: topics.timebankOrder, dataSchema: z.object({ ...orderFacts, ...extra }) });
}

const payerKind = z.enum(['own', 'relative', 'pool']);
const holdFact = z.object({ transferId: z.string().min(1), payerKind, payerUserId: z.string(), minutes: z.number().int().positive() });

/** A resident (or a relative for them) asked for help. */
export const serviceOrderPlaced = orderEvent('ServiceOrderPlaced', { minutes: z.number().int().positive(), startAt: z.iso.datetime() });
/** A volunteer grabbed the order, or an organizer dispatched it; the minutes are held. */
export const serviceOrderAccepted = orderEvent('ServiceOrderAccepted', { assignedByUserId: z.string(), holds: z.array(holdFact) });
/** The volunteer started the service. */
export const serviceOrderStarted = orderEvent('ServiceOrderStarted', {});
/** The volunteer recorded the minutes actually served. */
export const serviceOrderCompleted = orderEvent('ServiceOrderCompleted', { actualMinutes: z.number().int().positive() });
/** The beneficiary's side disputed the completion; an organizer decides. */
export const serviceOrderDisputed = orderEvent('ServiceOrderDisputed', { reason: z.string(), byUserId: z.string().min(1) });
/** The order was verified and its minutes paid to the volunteer. */
export const serviceOrderVerified = orderEvent('ServiceOrderVerified', {
  paidMinutes: z.number().int().positive(),
  paidFrom: z.array(holdFact.extend({ postedMinutes: z.number().int().nonnegative() })),
  confirmedByUserId: z.string().min(1),
});
/** The beneficiary's side rated the volunteer. */
export const serviceOrderRated = orderEvent('ServiceOrderRated', { stars: z.number().int().min(1).max(5) });
/** The order was cancelled and every hold voided. */
export const serviceOrderCancelled = orderEvent('ServiceOrderCancelled', { reason: z.string(), byUserId: z.string() });
/** The order is open again (declined, or not started in time); its holds were voided. */
export const serviceOrderReopened = orderEvent('ServiceOrderReopened', { reason: z.enum(['declined', 'not_started']), previousVolunteerUserId: z.string() });
/** Nobody took the order by its deadline, so it moved up a level: grid → community → street. */
export const serviceOrderEscalated = orderEvent('ServiceOrderEscalated', {
  fromLevel: z.enum(['grid', 'community']),
  toLevel: z.enum(['community', 'street']),
});
