import {
  approveFamilyLinkInput,
  assignServiceRequestInput,
  cancelServiceRequestInput,
  completeServiceRequestInput,
  createFamilyLinkInput,
  createServiceRequestInput,
  disputeServiceRequestInput,
  donateInput,
  listServiceRequestsInput,
  pageCursor,
  pageLimit,
  rateServiceRequestInput,
  resolveDisputeInput,
  serviceRequestStatus,
  setBeneficiaryInput,
} from '@lovepoints/contracts';
import { type Action, type Caller, callUnary, type ServiceClients } from '@lovepoints/grpc';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { defineRoute, type GatewayContext } from '../http/route';
import { emptyToNull, idParams, pageOf } from './views';

const payerKind = z.enum(['own', 'relative', 'pool']);
const holdView = z.object({
  transferId: z.string(),
  payerKind,
  payerUserId: z.string().nullable().describe('null for the community pool'),
  minutes: z.number().int(),
  state: z.enum(['placing', 'held', 'posted', 'voided', 'rejected']),
  postedMinutes: z.number().int(),
});
const orderView = z.object({
  id: z.string(),
  communityId: z.string(),
  requesterUserId: z.string(),
  beneficiaryUserId: z.string(),
  category: z.string(),
  description: z.string(),
  place: z.string(),
  startAt: z.string(),
  minutes: z.number().int().describe('estimated minutes, held from the payer when the order is taken'),
  acceptBy: z.string().describe('taken by then, or the order escalates a level'),
  level: z.enum(['grid', 'community', 'street']),
  status: serviceRequestStatus,
  volunteerUserId: z.string().nullable(),
  assignedByUserId: z.string().nullable(),
  actualMinutes: z.number().int().nullable(),
  paidMinutes: z.number().int().nullable(),
  paidFrom: z.array(z.object({ payerKind, payerUserId: z.string().nullable(), minutes: z.number().int() })).describe('who paid, once verified'),
  holds: z.array(holdView),
  disputeReason: z.string().nullable(),
  rating: z.object({ stars: z.number().int(), comment: z.string() }).nullable(),
  cancelReason: z.string().nullable(),
  confirmedByUserId: z.string().nullable(),
  createdAt: z.string(),
});
type OrderView = z.output<typeof orderView>;
/** What the timebank service answers for an order and for a link. */
type OrderMessage = Awaited<ReturnType<typeof callUnary<ServiceClients['timebank'], 'getRequest'>>>;
type LinkMessage = Awaited<ReturnType<typeof callUnary<ServiceClients['timebank'], 'approveFamilyLink'>>>;

const zeroToNull = (value: number) => (value === 0 ? null : value);

function toOrderView(order: OrderMessage): OrderView {
  const holds = order.holds.map((hold) => ({
    transferId: hold.transferId,
    payerKind: payerKind.parse(hold.payerKind),
    payerUserId: emptyToNull(hold.payerUserId),
    minutes: hold.minutes,
    state: holdView.shape.state.parse(hold.state),
    postedMinutes: hold.postedMinutes,
  }));
  return {
    id: order.id,
    communityId: order.communityId,
    requesterUserId: order.requesterUserId,
    beneficiaryUserId: order.beneficiaryUserId,
    category: order.category,
    description: order.description,
    place: order.place,
    startAt: order.startAt,
    minutes: order.minutes,
    acceptBy: order.acceptBy,
    level: orderView.shape.level.parse(order.level),
    status: serviceRequestStatus.parse(order.status),
    volunteerUserId: emptyToNull(order.volunteerUserId),
    assignedByUserId: emptyToNull(order.assignedByUserId),
    actualMinutes: zeroToNull(order.actualMinutes),
    paidMinutes: zeroToNull(order.paidMinutes),
    paidFrom: holds
      .filter((hold) => hold.state === 'posted')
      .map((hold) => ({ payerKind: hold.payerKind, payerUserId: hold.payerUserId, minutes: hold.postedMinutes })),
    holds,
    disputeReason: emptyToNull(order.disputeReason),
    rating: order.ratingStars === 0 ? null : { stars: order.ratingStars, comment: order.ratingComment },
    cancelReason: emptyToNull(order.cancelReason),
    confirmedByUserId: emptyToNull(order.confirmedByUserId),
    createdAt: order.createdAt,
  };
}

const linkView = z.object({
  id: z.string(),
  requesterUserId: z.string(),
  relativeUserId: z.string(),
  relationship: z.string(),
  status: z.enum(['pending', 'approved', 'revoked']),
  requesterPays: z.boolean().describe('the requester pays for the relative’s orders'),
  relativePays: z.boolean().describe('the relative pays for the requester’s orders'),
  createdAt: z.string(),
});
const asLinkView = (link: LinkMessage) => linkView.parse(link);

interface StepInput<Body> {
  id: string;
  body: Body;
  idempotencyKey: string;
  options: { caller: Caller | undefined; deadlineMs: number };
  context: GatewayContext;
}

/** One step of an order (`POST /api/v1/timebank/requests/{id}/<step>`), answered with the order. */
function orderStep<Body = undefined>(step: {
  path: string;
  summary: string;
  action: Action;
  body?: z.ZodType<Body>;
  idempotent?: boolean;
  call: (input: StepInput<Body>) => Promise<OrderMessage>;
  audit?: (order: OrderView, body: Body) => Record<string, unknown>;
}) {
  const describe = step.audit;
  return defineRoute({
    method: 'post',
    path: `/api/v1/timebank/requests/:id/${step.path}`,
    summary: step.summary,
    tag: 'timebank',
    access: 'signed_in',
    action: step.action,
    params: idParams,
    ...(step.body === undefined ? {} : { body: step.body }),
    ...(step.idempotent === true ? { idempotent: true } : {}),
    successStatus: 200,
    response: orderView,
    handler: async ({ params, body, caller, idempotencyKey }, context) =>
      toOrderView(
        await step.call({
          id: params.id,
          body: body,
          idempotencyKey: idempotencyKey ?? '',
          options: { caller, deadlineMs: context.deadlineMs },
          context,
        }),
      ),
    ...(describe === undefined
      ? {}
      : { audit: ({ body }: { body: Body }, order: OrderView) => ({ targetId: order.id, communityId: order.communityId, detail: describe(order, body) }) }),
  });
}

const timebank = (context: GatewayContext) => context.clients.timebank;

export const timebankRoutes = [
  defineRoute({
    method: 'post',
    path: '/api/v1/timebank/requests',
    summary: 'Ask for home help paid with stored service time, for yourself or a linked relative (beneficiaryUserId)',
    tag: 'timebank',
    access: 'signed_in',
    action: 'timebank.request.create',
    body: createServiceRequestInput,
    successStatus: 201,
    response: orderView,
    handler: async ({ body, caller }, context) =>
      toOrderView(
        await callUnary(
          timebank(context),
          'createRequest',
          { ...body, beneficiaryUserId: body.beneficiaryUserId ?? '', acceptBy: body.acceptBy ?? '' },
          { caller, deadlineMs: context.deadlineMs },
        ),
      ),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/timebank/requests',
    summary: 'Service orders of your community and your own requests, newest first',
    tag: 'timebank',
    access: 'signed_in',
    action: 'timebank.request.read',
    query: listServiceRequestsInput,
    successStatus: 200,
    response: pageOf(orderView),
    handler: async ({ query, caller }, context) => {
      const { requests } = await callUnary(timebank(context), 'listRequests', { status: query.status ?? '' }, { caller, deadlineMs: context.deadlineMs });
      return { items: requests.map(toOrderView), nextCursor: null };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/timebank/requests/:id',
    summary: 'One service order',
    tag: 'timebank',
    access: 'signed_in',
    action: 'timebank.request.read',
    params: idParams,
    successStatus: 200,
    response: orderView,
    handler: async ({ params, caller }, context) =>
      toOrderView(await callUnary(timebank(context), 'getRequest', { requestId: params.id }, { caller, deadlineMs: context.deadlineMs })),
  }),
  orderStep({
    path: 'accept',
    summary:
      'Grab an open order (抢单); the first volunteer wins. The estimate is held from the payer (own → relative → pool); 409 insufficient_time when nobody has it',
    action: 'timebank.order.accept',
    idempotent: true,
    call: ({ id, idempotencyKey, options, context }) => callUnary(timebank(context), 'acceptRequest', { requestId: id, idempotencyKey }, options),
  }),
  orderStep({
    path: 'assign',
    summary: 'Dispatch an open order to a volunteer of the community (派单), holding the minutes likewise',
    action: 'timebank.order.assign',
    body: assignServiceRequestInput,
    idempotent: true,
    call: ({ id, body, idempotencyKey, options, context }) =>
      callUnary(timebank(context), 'assignRequest', { requestId: id, volunteerUserId: body.volunteerUserId, idempotencyKey }, options),
  }),
  orderStep({
    path: 'decline',
    summary: 'The volunteer gives back an order before starting it; the hold is voided and the order reopens',
    call: ({ id, options, context }) => callUnary(timebank(context), 'declineRequest', { requestId: id, idempotencyKey: '' }, options),
    action: 'timebank.order.serve',
  }),
  orderStep({
    path: 'start',
    summary: 'The volunteer starts the service (跑单)',
    call: ({ id, options, context }) => callUnary(timebank(context), 'startRequest', { requestId: id, idempotencyKey: '' }, options),
    action: 'timebank.order.serve',
  }),
  orderStep({
    path: 'complete',
    summary: 'Record the minutes actually served: the volunteer up to TIMEBANK_OVERRUN_FACTOR × the estimate, an organizer up to a day',
    body: completeServiceRequestInput,
    action: 'timebank.order.serve',
    call: ({ id, body, options, context }) => callUnary(timebank(context), 'completeRequest', { requestId: id, actualMinutes: body.actualMinutes }, options),
  }),
  orderStep({
    path: 'confirm',
    summary:
      'The beneficiary or a linked relative confirms (验单): the actual minutes are paid to the volunteer (a shortfall beyond the hold is held from the payer chain first; 409 insufficient_time when nobody has it)',
    action: 'timebank.order.follow_up',
    idempotent: true,
    call: ({ id, idempotencyKey, options, context }) => callUnary(timebank(context), 'confirmRequest', { requestId: id, idempotencyKey }, options),
  }),
  orderStep({
    path: 'dispute',
    summary: 'The beneficiary or a linked relative disputes a completed order; an organizer decides',
    body: disputeServiceRequestInput,
    action: 'timebank.order.follow_up',
    call: ({ id, body, options, context }) => callUnary(timebank(context), 'disputeRequest', { requestId: id, reason: body.reason }, options),
  }),
  orderStep({
    path: 'resolve',
    summary: 'An organizer decides a dispute: pay (the recorded or a corrected number of minutes) or cancel (holds voided)',
    action: 'timebank.dispute.resolve',
    body: resolveDisputeInput,
    idempotent: true,
    audit: (order, body) => ({ ...body, paidMinutes: order.paidMinutes, status: order.status }),
    call: ({ id, body, idempotencyKey, options, context }) =>
      callUnary(
        timebank(context),
        'resolveDispute',
        { requestId: id, decision: body.decision, minutes: body.minutes ?? 0, note: body.note, idempotencyKey },
        options,
      ),
  }),
  orderStep({
    path: 'rate',
    summary: 'Rate a verified order once, 1–5 stars (评单); feeds the volunteer’s reputation',
    body: rateServiceRequestInput,
    action: 'timebank.order.follow_up',
    call: ({ id, body, options, context }) => callUnary(timebank(context), 'rateRequest', { requestId: id, stars: body.stars, comment: body.comment }, options),
  }),
  orderStep({
    path: 'cancel',
    summary: 'Cancel: the requester or beneficiary while not started, an organizer at any step before verification; every hold is voided',
    body: cancelServiceRequestInput,
    action: 'timebank.order.cancel',
    idempotent: true,
    call: ({ id, body, idempotencyKey, options, context }) =>
      callUnary(timebank(context), 'cancelRequest', { requestId: id, reason: body.reason, idempotencyKey }, options),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/timebank/volunteers/:id',
    summary: 'A volunteer’s reputation from ratings',
    tag: 'timebank',
    access: 'signed_in',
    action: 'timebank.reputation.read',
    params: idParams,
    successStatus: 200,
    response: z.object({ userId: z.string(), ratingCount: z.number().int(), ratingAverage: z.number() }),
    handler: ({ params, caller }, context) =>
      callUnary(timebank(context), 'getVolunteerReputation', { userId: params.id }, { caller, deadlineMs: context.deadlineMs }),
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/timebank/family-links',
    summary: 'Ask a close relative (by phone) to link; linked relatives confirm and may pay for each other',
    tag: 'timebank',
    access: 'signed_in',
    action: 'timebank.family',
    body: createFamilyLinkInput,
    successStatus: 201,
    response: linkView,
    handler: async ({ body, caller }, context) =>
      asLinkView(await callUnary(timebank(context), 'createFamilyLink', body, { caller, deadlineMs: context.deadlineMs })),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/timebank/family-links',
    summary: 'Your family links, asked by you or of you',
    tag: 'timebank',
    access: 'signed_in',
    action: 'timebank.family',
    successStatus: 200,
    response: pageOf(linkView),
    handler: async ({ caller }, context) => {
      const { links } = await callUnary(timebank(context), 'listFamilyLinks', {}, { caller, deadlineMs: context.deadlineMs });
      return { items: links.map(asLinkView), nextCursor: null };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/timebank/family-links/:id/approve',
    summary: 'The relative asked approves the link, saying whether they pay for the requester',
    tag: 'timebank',
    access: 'signed_in',
    action: 'timebank.family',
    params: idParams,
    body: approveFamilyLinkInput,
    successStatus: 200,
    response: linkView,
    handler: async ({ params, body, caller }, context) =>
      asLinkView(
        await callUnary(
          timebank(context),
          'approveFamilyLink',
          { linkId: params.id, relativePays: body.relativePays },
          { caller, deadlineMs: context.deadlineMs },
        ),
      ),
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/timebank/family-links/:id/revoke',
    summary: 'Either side revokes a link: from then on neither confirms nor pays for the other',
    tag: 'timebank',
    access: 'signed_in',
    action: 'timebank.family',
    params: idParams,
    successStatus: 200,
    response: linkView,
    handler: async ({ params, caller }, context) =>
      asLinkView(await callUnary(timebank(context), 'revokeFamilyLink', { linkId: params.id }, { caller, deadlineMs: context.deadlineMs })),
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/timebank/donations',
    summary: 'Donate service minutes to your community’s pool; Idempotency-Key makes a retry the same donation',
    tag: 'timebank',
    access: 'signed_in',
    action: 'timebank.donate',
    body: donateInput,
    idempotent: true,
    successStatus: 201,
    response: z.object({ transferId: z.string(), communityId: z.string(), minutes: z.number().int(), createdAt: z.string() }),
    handler: ({ body, caller, idempotencyKey }, context) =>
      callUnary(timebank(context), 'donate', { minutes: body.minutes, donationId: idempotencyKey ?? randomUUID() }, { caller, deadlineMs: context.deadlineMs }),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/timebank/pool',
    summary: 'Your community’s donation pool: minutes available and held, and every movement (organizers)',
    tag: 'timebank',
    access: 'signed_in',
    action: 'timebank.pool.read',
    query: z.object({ limit: pageLimit, cursor: pageCursor }),
    successStatus: 200,
    response: z.object({
      communityId: z.string(),
      availableMinutes: z.number().int(),
      heldMinutes: z.number().int(),
      items: z.array(
        z.object({
          transferId: z.string(),
          minutes: z.number().int(),
          direction: z.string(),
          reason: z.string(),
          reference: z.string(),
          balanceAfter: z.number().int(),
          at: z.string(),
        }),
      ),
      nextCursor: z.string().nullable(),
    }),
    handler: async ({ query, caller }, context) => {
      const statement = await callUnary(timebank(context), 'getPoolStatement', query, { caller, deadlineMs: context.deadlineMs });
      return { ...statement, nextCursor: emptyToNull(statement.nextCursor) };
    },
  }),
  defineRoute({
    method: 'put',
    path: '/api/v1/timebank/beneficiaries/:id',
    summary: 'Record whether the pool pays for a resident: an organizer’s flag, or a birth date (at or above TIMEBANK_POOL_MIN_AGE)',
    tag: 'timebank',
    access: 'signed_in',
    action: 'timebank.beneficiary.write',
    params: idParams,
    body: setBeneficiaryInput,
    successStatus: 200,
    response: z.object({ userId: z.string(), communityId: z.string(), poolEligible: z.boolean(), birthDate: z.string().nullable(), eligibleNow: z.boolean() }),
    handler: async ({ params, body, caller }, context) => {
      const record = await callUnary(
        timebank(context),
        'setBeneficiary',
        { userId: params.id, poolEligible: body.poolEligible, birthDate: body.birthDate ?? '' },
        { caller, deadlineMs: context.deadlineMs },
      );
      return { ...record, birthDate: emptyToNull(record.birthDate) };
    },
  }),
];
