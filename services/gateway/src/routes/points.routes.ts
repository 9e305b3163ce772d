import { identifier, pageCursor, pageLimit } from '@lovepoints/contracts';
import { authorize, type Caller, callUnary } from '@lovepoints/grpc';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { defineRoute, type GatewayContext } from '../http/route';
import { emptyToNull } from './views';

const balanceView = z.object({
  points: z.number().int(),
  timeMinutes: z.number().int(),
  heldPoints: z.number().int(),
  heldMinutes: z.number().int(),
  lifetimePoints: z.number().int(),
  starTier: z.number().int(),
});
const statementItemView = z.object({
  transferId: z.string(),
  amount: z.number().int(),
  direction: z.enum(['credit', 'debit']),
  reason: z.string(),
  reference: z.string(),
  balanceAfter: z.number().int(),
  at: z.string(),
});
const rulesInput = z.object({
  defaultPointsPerHour: z.number().int().min(0).max(1000),
  reportPoints: z.number().int().min(0).max(10_000),
  discussionPoints: z.number().int().min(0).max(10_000),
  dailyCapPoints: z.number().int().min(0).max(1_000_000).describe('0 means no cap'),
  monthlyCapPoints: z.number().int().min(0).max(10_000_000).describe('0 means no cap'),
  starThresholds: z.array(z.number().int().min(1)).length(5).describe('lifetime points for stars 1..5, ascending'),
  pointsExpiryMonths: z
    .number()
    .int()
    .min(0)
    .max(120)
    .default(0)
    .describe('unspent points expire this many months after the month they were credited in; 0 = never'),
});
const rulesView = rulesInput.extend({ communityId: z.string() });
const awardCategories = { report: 'report_reward', discussion: 'discussion_reward', adjustment: 'adjustment' } as const;

/**
 * Whose points a request is about: the caller, or (for organizers and street admins) a member
 * the volunteer service says they can see; anyone else is a 404.
 */
async function memberInScope(caller: Caller | undefined, userId: string | undefined, context: GatewayContext) {
  const target = userId ?? caller?.userId ?? '';
  if (target === caller?.userId) return { userId: target, communityId: caller.communityId };
  authorize(caller, 'points.read_member');
  const user = await callUnary(context.clients.volunteer, 'getUser', { userId: target }, { caller, deadlineMs: context.deadlineMs });
  return { userId: user.id, communityId: user.communityId };
}

export const pointsRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/v1/points/balance',
    summary: 'Spendable and held love points and service minutes, lifetime points and star tier (own; organizers may pass userId)',
    tag: 'points',
    access: 'signed_in',
    action: 'points.read',
    query: z.object({ userId: identifier.optional() }),
    successStatus: 200,
    response: balanceView,
    handler: async ({ query, caller }, context) => {
      const { userId } = await memberInScope(caller, query.userId, context);
      const balance = await callUnary(context.clients.points, 'getBalance', { userId }, { caller, deadlineMs: context.deadlineMs });
      return {
        points: balance.points,
        timeMinutes: balance.timeMinutes,
        heldPoints: balance.heldPoints,
        heldMinutes: balance.heldMinutes,
        lifetimePoints: balance.lifetimePoints,
        starTier: balance.starTier,
      };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/points/statement',
    summary: 'Every posted movement of love points or service minutes, newest first, with the balance after each',
    tag: 'points',
    access: 'signed_in',
    action: 'points.read',
    query: z.object({ asset: z.enum(['POINTS', 'TIME']).default('POINTS'), userId: identifier.optional(), limit: pageLimit, cursor: pageCursor }),
    successStatus: 200,
    response: z.object({ items: z.array(statementItemView), nextCursor: z.string().nullable() }),
    handler: async ({ query, caller }, context) => {
      const { userId } = await memberInScope(caller, query.userId, context);
      const statement = await callUnary(
        context.clients.points,
        'getStatement',
        { userId, asset: query.asset, page: { limit: query.limit, cursor: query.cursor } },
        { caller, deadlineMs: context.deadlineMs },
      );
      return {
        items: statement.items.map((item) => ({ ...item, direction: item.direction as 'credit' | 'debit' })),
        nextCursor: emptyToNull(statement.nextCursor),
      };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/points/leaderboard',
    summary: 'Members of your community by love points earned in the period',
    tag: 'points',
    access: 'signed_in',
    action: 'points.community.read',
    query: z.object({ period: z.enum(['week', 'month', 'year', 'all']).default('month'), limit: pageLimit }),
    successStatus: 200,
    response: z.object({
      period: z.string(),
      from: z.string().nullable(),
      items: z.array(z.object({ userId: z.string(), name: z.string(), points: z.number().int(), rank: z.number().int() })),
    }),
    handler: async ({ query, caller }, context) => {
      const options = { caller, deadlineMs: context.deadlineMs };
      const board = await callUnary(context.clients.points, 'getLeaderboard', { period: query.period, limit: query.limit }, options);
      const { names } = await callUnary(context.clients.volunteer, 'getUserNames', { userIds: board.items.map((item) => item.userId) }, options);
      const nameOf = new Map(names.map((entry) => [entry.userId, entry.name]));
      return { period: board.period, from: emptyToNull(board.from), items: board.items.map((item) => ({ ...item, name: nameOf.get(item.userId) ?? '' })) };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/points/awards',
    summary: 'Award love points to a member of your community (an accepted report, a discussion); Idempotency-Key makes a retry the same award',
    tag: 'points',
    access: 'signed_in',
    action: 'points.award',
    idempotent: true,
    body: z.object({
      userId: identifier,
      points: z.number().int().min(1).max(10_000),
      reason: z.string().trim().min(1, 'required').max(200).describe('why, in words; kept with the transfer'),
      category: z.enum(['report', 'discussion', 'adjustment']).default('report'),
    }),
    successStatus: 201,
    response: z.object({
      transferId: z.string(),
      userId: z.string(),
      points: z.number().int(),
      category: z.string(),
      reason: z.string(),
      createdAt: z.string(),
    }),
    handler: async ({ body, caller, idempotencyKey }, context) => {
      const options = { caller, deadlineMs: context.deadlineMs };
      const member = await callUnary(context.clients.volunteer, 'getUser', { userId: body.userId }, options);
      authorize(caller, 'points.award', { communityId: member.communityId, what: 'The member' });
      const transfer = await callUnary(
        context.clients.points,
        'awardPoints',
        {
          awardId: idempotencyKey ?? randomUUID(),
          userId: member.id,
          points: body.points,
          reason: awardCategories[body.category],
          note: body.reason,
          communityId: member.communityId,
        },
        options,
      );
      return {
        transferId: transfer.id,
        userId: member.id,
        points: transfer.amount,
        category: body.category,
        reason: transfer.reference,
        createdAt: transfer.createdAt,
      };
    },
    audit: ({ caller }, award) => ({
      targetId: award.userId,
      communityId: caller?.communityId ?? '',
      detail: { transferId: award.transferId, points: award.points, category: award.category, reason: award.reason },
    }),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/points/rules',
    summary: 'Your community’s earning rules: rates, caps and star thresholds',
    tag: 'points',
    access: 'signed_in',
    action: 'points.community.read',
    successStatus: 200,
    response: rulesView,
    handler: ({ caller }, context) => callUnary(context.clients.points, 'getEarningRules', { communityId: '' }, { caller, deadlineMs: context.deadlineMs }),
  }),
  defineRoute({
    method: 'put',
    path: '/api/v1/points/rules',
    summary: 'Change your community’s earning rules',
    tag: 'points',
    access: 'signed_in',
    action: 'points.rules.write',
    body: rulesInput,
    successStatus: 200,
    response: rulesView,
    handler: ({ body, caller }, context) =>
      callUnary(context.clients.points, 'setEarningRules', { ...body, communityId: caller?.communityId ?? '' }, { caller, deadlineMs: context.deadlineMs }),
    audit: ({ body }, rules) => ({ targetId: rules.communityId, communityId: rules.communityId, detail: body }),
  }),
];
