import { identifier, pageCursor, pageLimit } from '@lovepoints/contracts';
import { parseInput } from '@lovepoints/errors';
import { type AsyncHandlers, type Caller, type pointsV1, requireServiceCaller } from '@lovepoints/grpc';
import { z } from 'zod';
import { assets, ownerKinds, reasonCodes } from '../domain/ledger-rules';
import { leaderboardPeriods, type PointsService } from '../points.service';

const owner = z.object({ kind: z.enum(ownerKinds), id: identifier, communityId: identifier });
const transferInput = z.object({
  transferId: z.string().max(200),
  debit: owner,
  credit: owner,
  asset: z.enum(assets),
  amount: z.number(),
  reason: z.enum(reasonCodes),
  reference: z.string().max(200).default(''),
});
const earningRulesInput = z.object({
  communityId: identifier,
  defaultPointsPerHour: z.number().int().min(0).max(1000),
  reportPoints: z.number().int().min(0).max(10_000),
  discussionPoints: z.number().int().min(0).max(10_000),
  dailyCapPoints: z.number().int().min(0).max(1_000_000),
  monthlyCapPoints: z.number().int().min(0).max(10_000_000),
  starThresholds: z
    .array(z.number().int().min(1))
    .length(5, 'five thresholds, for stars 1 to 5')
    .refine((values) => values.every((value, index) => index === 0 || value > values[index - 1]!), 'must be ascending'),
  pointsExpiryMonths: z.number().int().min(0).max(120),
});
const awardInput = z.object({
  awardId: identifier,
  userId: identifier,
  points: z.number().int().min(1).max(10_000),
  reason: z.enum(['report_reward', 'discussion_reward', 'adjustment']),
  note: z.string().max(200).default(''),
  communityId: identifier,
});

const serviceOnly = (caller: Caller | undefined) => requireServiceCaller(caller, 'Ledger commands');

export function pointsHandlers(service: PointsService, timeZoneOffsetMinutes: number): AsyncHandlers<pointsV1.PointsServiceHandlers> {
  return {
    GetBalance: (request, caller) => service.getBalance(caller, request.userId),
    OpenAccount: (request, caller) => {
      serviceOnly(caller);
      const input = parseInput(z.object({ owner, asset: z.enum(assets) }), request);
      return service.openAccount(input.owner, input.asset);
    },
    CreateTransfer: (request, caller) => {
      serviceOnly(caller);
      return service.createTransfer(parseInput(transferInput, request));
    },
    CreateTransfers: (request, caller) => {
      serviceOnly(caller);
      return service.createTransfers(parseInput(z.object({ transfers: z.array(transferInput) }), request).transfers);
    },
    CreateHold: (request, caller) => {
      serviceOnly(caller);
      const input = parseInput(z.object({ transfer: transferInput, timeoutMs: z.number() }), request);
      return service.createHold(input.transfer, input.timeoutMs);
    },
    PostHold: (request, caller) => {
      serviceOnly(caller);
      return service.postHold(parseInput(identifier, request.transferId, 'transferId'), request.amount);
    },
    VoidHold: (request, caller) => {
      serviceOnly(caller);
      return service.voidHold(parseInput(identifier, request.transferId, 'transferId'));
    },
    ReverseTransfer: (request, caller) => {
      serviceOnly(caller);
      const input = parseInput(z.object({ transferId: identifier, reversalId: z.string().min(1).max(200) }), request);
      return service.reverseTransfer(input.transferId, input.reversalId);
    },
    GetTransfer: (request, caller) => {
      serviceOnly(caller);
      return service.getTransfer(parseInput(identifier, request.transferId, 'transferId'));
    },
    VerifyLedger: (_request, caller) => {
      serviceOnly(caller);
      return service.verifyLedger();
    },
    GetStatement: (request, caller) => {
      const input = parseInput(z.object({ asset: z.enum(assets), limit: pageLimit, cursor: pageCursor }), {
        asset: request.asset,
        limit: request.page?.limit || undefined,
        cursor: request.page?.cursor ?? '',
      });
      if (request.owner !== null && request.owner.kind !== '') {
        serviceOnly(caller);
        return service.getAccountStatement(parseInput(owner, request.owner, 'owner'), input);
      }
      return service.getStatement(caller, { userId: request.userId, ...input });
    },
    AwardPoints: (request, caller) => service.awardPoints(caller, parseInput(awardInput, request)),
    GetEarningRules: (request, caller) => service.getEarningRules(caller, request.communityId),
    SetEarningRules: (request, caller) => service.setEarningRules(caller, parseInput(earningRulesInput, request)),
    ExpirePoints: (request, caller) => {
      serviceOnly(caller);
      const input = parseInput(z.object({ communityId: identifier, asOf: z.iso.datetime({ offset: true }).optional() }), {
        communityId: request.communityId,
        asOf: request.asOf === '' ? undefined : request.asOf,
      });
      return service.expirePoints(input.communityId, input.asOf === undefined ? new Date() : new Date(input.asOf));
    },
    GetLeaderboard: (request, caller) => {
      const input = parseInput(z.object({ period: z.enum(leaderboardPeriods), limit: pageLimit }), {
        period: request.period,
        limit: request.limit || undefined,
      });
      return service.getLeaderboard(caller, input, timeZoneOffsetMinutes);
    },
  };
}
