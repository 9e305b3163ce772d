import { attendanceRewardPoints, type AttendanceVerifiedData, type AttendanceVerifiedV2Data, type Envelope, type ReportAcceptedData } from '@lovepoints/events';
import { DomainError, notFound, unauthenticated } from '@lovepoints/errors';
import { authorize, type Caller } from '@lovepoints/grpc';
import { type AccountOwner, accountId, type Asset, checkTransfer, mayGoNegative, type TransferCommand } from './domain/ledger-rules';
import { type EarningRepository, type EarningRules, starTier } from './store/earning.repository';
import type { AccountDocument, LedgerRepository, TransferDocument } from './store/ledger.repository';
import type { LedgerQueries } from './store/ledger.queries';

export function transferView(transfer: TransferDocument) {
  return {
    id: transfer._id,
    debitAccountId: transfer.debitAccountId,
    creditAccountId: transfer.creditAccountId,
    asset: transfer.asset,
    amount: transfer.amount,
    reason: transfer.reason,
    reference: transfer.reference,
    state: transfer.state,
    createdAt: transfer.createdAt.toISOString(),
    heldAmount: transfer.heldAmount,
    expiresAt: transfer.pending && transfer.state === 'pending' ? (transfer.expiresAt?.toISOString() ?? '') : '',
    resolvedAt: transfer.resolvedAt?.toISOString() ?? '',
  };
}

function accountView(account: AccountDocument) {
  return {
    id: account._id,
    owner: { kind: account.ownerKind, id: account.ownerId, communityId: account.communityId },
    asset: account.asset,
    balancePosted: account.creditsPosted - account.debitsPosted,
    available: account.available,
    debitsPending: account.debitsPending,
    creditsPending: account.creditsPending,
  };
}

/** Limits of the ledger's commands; every one is in configuration. */
export interface LedgerLimits {
  batchSizeMax: number;
  batchConcurrency: number;
  holdTimeoutMsMin: number;
  holdTimeoutMsMax: number;
}

const periods = ['week', 'month', 'year', 'all'] as const;
export type LeaderboardPeriod = (typeof periods)[number];

export class PointsService {
  constructor(
    private readonly ledger: LedgerRepository,
    private readonly queries: LedgerQueries,
    private readonly earnings: EarningRepository,
    private readonly limits: LedgerLimits,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private validate(command: TransferCommand): void {
    const verdict = checkTransfer(command);
    if (verdict === 'ok') return;
    const path = verdict.startsWith('amount') ? 'amount' : verdict.startsWith('transfer_id') ? 'transferId' : 'credit';
    throw new DomainError('invalid_argument', verdict, `The transfer was refused: ${verdict.replaceAll('_', ' ')}.`, [{ path, message: verdict }]);
  }

  async openAccount(owner: AccountOwner, asset: Asset) {
    return accountView(await this.ledger.openAccount(owner, asset));
  }

  async createTransfer(command: TransferCommand) {
    this.validate(command);
    return transferView(await this.ledger.transfer(command));
  }

  /**
   * Independent items, not all-or-nothing (the ledger keeps no multi-document transactions;
   * callers that need atomicity across items use holds): each gets its own result code, and a
   * refused item leaves nothing behind. Items that debit the same member (or shop, or pool) account
   * are applied in request order, so the outcome is what applying them one by one would give;
   * everything else runs concurrently, bounded: items of different accounts, and items debiting an
   * account that may go negative (issuance), which no order can make refused.
   */
  async createTransfers(commands: TransferCommand[]) {
    if (commands.length > this.limits.batchSizeMax) {
      throw new DomainError('invalid_argument', 'batch_too_large', `At most ${this.limits.batchSizeMax} transfers per call.`, [
        { path: 'transfers', message: 'too many items' },
      ]);
    }
    const results = new Array<{ transferId: string; result: string; transfer?: ReturnType<typeof transferView> }>(commands.length);
    const byDebitAccount = new Map<string, number[]>();
    commands.forEach((command, index) => {
      const key = mayGoNegative(command.debit.kind) ? `#${index}` : accountId(command.debit, command.asset);
      const group = byDebitAccount.get(key);
      if (group === undefined) byDebitAccount.set(key, [index]);
      else group.push(index);
    });
    const groups = [...byDebitAccount.values()];
    let nextGroup = 0;
    const worker = async () => {
      for (let group = groups[nextGroup++]; group !== undefined; group = groups[nextGroup++]) {
        for (const index of group) {
          const command = commands[index]!;
          try {
            results[index] = { transferId: command.transferId, result: 'ok', transfer: await this.createTransfer(command) };
          } catch (error) {
            if (!(error instanceof DomainError)) throw error;
            results[index] = { transferId: command.transferId, result: error.code };
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.limits.batchConcurrency, groups.length) }, worker));
    return { results };
  }

  async createHold(command: TransferCommand, timeoutMs: number) {
    this.validate(command);
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs < this.limits.holdTimeoutMsMin || timeoutMs > this.limits.holdTimeoutMsMax) {
      throw new DomainError(
        'invalid_argument',
        'invalid_timeout',
        `The hold must last ${this.limits.holdTimeoutMsMin} to ${this.limits.holdTimeoutMsMax} ms.`,
        [{ path: 'timeoutMs', message: 'out of range' }],
      );
    }
    return transferView(await this.ledger.transfer(command, { hold: { expiresAt: new Date(this.now().getTime() + timeoutMs) } }));
  }

  async postHold(transferId: string, amount: number) {
    if (!Number.isSafeInteger(amount) || amount < 0) {
      throw new DomainError('invalid_argument', 'amount_must_be_positive', 'The amount must be a positive whole number (or 0 for all of it).', [
        { path: 'amount', message: 'invalid' },
      ]);
    }
    return transferView(await this.ledger.postHold(transferId, amount === 0 ? undefined : amount));
  }

  async voidHold(transferId: string) {
    return transferView(await this.ledger.voidHold(transferId));
  }

  async getTransfer(transferId: string) {
    const transfer = await this.ledger.findTransfer(transferId);
    if (transfer === null) throw notFound('The transfer');
    return transferView(transfer);
  }

  /**
   * Moves a posted transfer's amount back with a compensating transfer. The original is marked
   * with the reversal's id first, so two different reversal ids can never both reverse it.
   */
  async reverseTransfer(transferId: string, reversalId: string) {
    const original = await this.ledger.findTransfer(transferId);
    if (original === null) throw notFound('The transfer');
    if (original.state !== 'posted') throw new DomainError('business_rule', 'not_posted', 'Only a posted transfer can be reversed.');
    if (original.reverses !== null) throw new DomainError('business_rule', 'is_a_reversal', 'A reversal cannot be reversed; make a new transfer.');
    const marked = await this.ledger.transfers.updateOne(
      { _id: transferId, $or: [{ reversedBy: null }, { reversedBy: reversalId }] },
      { $set: { reversedBy: reversalId } },
    );
    if (marked.matchedCount === 0) throw new DomainError('conflict', 'already_reversed', 'That transfer was already reversed.');
    const [debitAccount, creditAccount] = await Promise.all([
      this.ledger.findAccount(original.creditAccountId),
      this.ledger.findAccount(original.debitAccountId),
    ]);
    if (debitAccount === null || creditAccount === null) throw new Error(`accounts of ${transferId} are missing`);
    const ownerOf = (account: AccountDocument): AccountOwner => ({
      kind: account.ownerKind as AccountOwner['kind'],
      id: account.ownerId,
      communityId: account.communityId,
    });
    const command: TransferCommand = {
      transferId: reversalId,
      debit: ownerOf(debitAccount),
      credit: ownerOf(creditAccount),
      asset: original.asset,
      amount: original.amount,
      reason: 'reversal',
      reference: transferId,
    };
    this.validate(command);
    return transferView(
      await this.ledger.transfer(command, { reverses: transferId, earnerUserId: original.earnerUserId, earnedPoints: -original.earnedPoints }),
    );
  }

  /**
   * A member's balances. Members read their own; organizers and street admins may read a member
   * of their community (the gateway has already checked that the member is visible to them).
   */
  async getBalance(caller: Caller | undefined, requestedUserId: string) {
    const userId = this.readableMember(caller, requestedUserId);
    const owner = { kind: 'member' as const, id: userId };
    const [pointsId, timeId] = [accountId(owner, 'POINTS'), accountId(owner, 'TIME')];
    const accounts = await this.ledger.findAccounts([pointsId, timeId]);
    const [points, time] = [accounts.get(pointsId) ?? null, accounts.get(timeId) ?? null];
    const lifetimePoints = points?.earnedPosted ?? 0;
    this.ensureSameCommunity(caller, userId, points ?? time);
    const communityId = points?.communityId ?? time?.communityId ?? caller?.communityId ?? '';
    const rules = await this.earnings.getRulesForDisplay(communityId);
    return {
      userId,
      points: points?.available ?? 0,
      timeMinutes: time?.available ?? 0,
      heldPoints: points?.debitsPending ?? 0,
      heldMinutes: time?.debitsPending ?? 0,
      lifetimePoints,
      starTier: starTier(lifetimePoints, rules.starThresholds),
    };
  }

  private readableMember(caller: Caller | undefined, requestedUserId: string): string {
    if (caller === undefined) throw unauthenticated();
    const userId = requestedUserId === '' ? caller.userId : requestedUserId;
    if (userId !== caller.userId) authorize(caller, 'points.read_member');
    return userId;
  }

  private ensureSameCommunity(caller: Caller | undefined, userId: string, account: AccountDocument | null): void {
    if (caller === undefined || account === null || userId === caller.userId || caller.roles.includes('street_admin')) return;
    if (account.communityId !== caller.communityId) throw notFound('The member');
  }

  async getStatement(caller: Caller | undefined, input: { userId: string; asset: Asset; limit: number; cursor: string }) {
    const userId = this.readableMember(caller, input.userId);
    const id = accountId({ kind: 'member', id: userId }, input.asset);
    this.ensureSameCommunity(caller, userId, await this.ledger.findAccount(id));
    return this.queries.statement(id, { limit: input.limit, cursor: input.cursor });
  }

  /** Any account's statement, for platform services (a community's donation pool, a shop). */
  async getAccountStatement(owner: AccountOwner, input: { asset: Asset; limit: number; cursor: string }) {
    return this.queries.statement(accountId(owner, input.asset), { limit: input.limit, cursor: input.cursor });
  }

  async verifyLedger() {
    return this.queries.verify();
  }

  /** An organizer's award to a member of their own community, once per award id, within the caps. */
  async awardPoints(
    caller: Caller | undefined,
    input: { awardId: string; userId: string; points: number; reason: 'report_reward' | 'discussion_reward' | 'adjustment'; note: string; communityId: string },
  ) {
    authorize(caller, 'points.award', { communityId: input.communityId, what: 'The member' });
    const transferId = `award:${input.communityId}:${input.awardId}`;
    const existing = await this.ledger.findTransfer(transferId);
    if (existing !== null) {
      // The amount may have been capped the first time, so the replay compares the member only.
      if (existing.creditAccountId !== accountId({ kind: 'member', id: input.userId }, 'POINTS')) {
        throw new DomainError('conflict', 'transfer_id_reused', 'That award id was already used for another member.');
      }
      return transferView(existing);
    }
    const rules = await this.earnings.getRules(input.communityId);
    const granted = input.reason === 'adjustment' ? input.points : await this.earnings.grant(input.userId, transferId, input.points, this.now(), rules);
    if (granted === 0) throw new DomainError('business_rule', 'earning_cap_reached', 'The member has reached the earning cap for this period.');
    return this.createTransfer({
      transferId,
      debit: { kind: 'community_issuance', id: input.communityId, communityId: input.communityId },
      credit: { kind: 'member', id: input.userId, communityId: input.communityId },
      asset: 'POINTS',
      amount: granted,
      reason: input.reason,
      reference: input.note === '' ? input.userId : input.note.slice(0, 200),
    });
  }

  async getEarningRules(caller: Caller | undefined, communityId: string): Promise<EarningRules> {
    if (caller === undefined) throw unauthenticated();
    const target = communityId === '' ? caller.communityId : communityId;
    if (target !== caller.communityId && !caller.roles.includes('street_admin')) throw notFound('The community');
    return this.earnings.getRules(target);
  }

  async setEarningRules(caller: Caller | undefined, rules: EarningRules): Promise<EarningRules> {
    const known = authorize(caller, 'points.rules.write', { communityId: rules.communityId, what: 'The community' });
    return this.earnings.setRules(rules, known.userId);
  }

  /**
   * Expires the unspent points that a community's members were credited before the cutoff:
   * spending uses the oldest points first, so what is left of them is the credits before the
   * cutoff minus every debit so far (earlier expiries included), never more than is spendable
   * now. One expiry transfer per member and month (its id says which), so runs repeat safely.
   */
  async expirePoints(communityId: string, asOf: Date) {
    const rules = await this.earnings.getRules(communityId);
    if (rules.pointsExpiryMonths === 0) return { membersChecked: 0, pointsExpired: 0, cutoff: '' };
    const cutoff = this.earnings.monthStart(asOf, rules.pointsExpiryMonths);
    const { month } = this.earnings.periodKeys(asOf);
    const accounts = await this.ledger.accounts.find({ communityId, ownerKind: 'member', asset: 'POINTS' }, { _id: 1, ownerId: 1, available: 1 }).lean();
    let pointsExpired = 0;
    for (const account of accounts) {
      const transferId = `expiry:${account.ownerId}:${month}`;
      if ((await this.ledger.findTransfer(transferId)) !== null) continue;
      const [oldCredits, debits] = await Promise.all([
        this.queries.postedSum(account._id, 'creditAccountId', cutoff),
        this.queries.postedSum(account._id, 'debitAccountId'),
      ]);
      const amount = Math.min(Math.max(0, oldCredits - debits), account.available);
      if (amount <= 0) continue;
      try {
        await this.createTransfer({
          transferId,
          debit: { kind: 'member', id: account.ownerId, communityId },
          credit: { kind: 'community_issuance', id: communityId, communityId },
          asset: 'POINTS',
          amount,
          reason: 'expiry',
          reference: `credited before ${cutoff.toISOString()}`,
        });
        pointsExpired += amount;
      } catch (error) {
        // Spent in the meantime: the next run sees the new debits and expires what is left.
        if (!(error instanceof DomainError && error.code === 'insufficient_balance')) throw error;
      }
    }
    return { membersChecked: accounts.length, pointsExpired, cutoff: cutoff.toISOString() };
  }

  async expireAllCommunities(asOf: Date): Promise<number> {
    let expired = 0;
    for (const communityId of await this.earnings.communitiesWithExpiry()) expired += (await this.expirePoints(communityId, asOf)).pointsExpired;
    return expired;
  }

  /** Start of a leaderboard period in the community's local time (weeks start on Monday). */
  periodStart(period: LeaderboardPeriod, now: Date, timeZoneOffsetMinutes: number): Date | undefined {
    if (period === 'all') return undefined;
    const local = new Date(now.getTime() + timeZoneOffsetMinutes * 60_000);
    const start = new Date(Date.UTC(local.getUTCFullYear(), period === 'year' ? 0 : local.getUTCMonth(), period === 'week' ? local.getUTCDate() : 1));
    if (period === 'week') start.setUTCDate(start.getUTCDate() - ((start.getUTCDay() + 6) % 7));
    return new Date(start.getTime() - timeZoneOffsetMinutes * 60_000);
  }

  async getLeaderboard(caller: Caller | undefined, input: { period: LeaderboardPeriod; limit: number }, timeZoneOffsetMinutes: number) {
    if (caller === undefined) throw unauthenticated();
    if (caller.communityId === '') throw new DomainError('business_rule', 'no_community', 'Leaderboards are per community.');
    const from = this.periodStart(input.period, this.now(), timeZoneOffsetMinutes);
    const items = await this.queries.leaderboard(caller.communityId, from, input.limit);
    return { period: input.period, from: from?.toISOString() ?? '', items };
  }

  /**
   * Awards the reporter of an accepted problem report: the points the organizer chose, or the
   * community's report points, within the caps; once per event, however often it is delivered.
   */
  async creditReport(event: Envelope<ReportAcceptedData>): Promise<void> {
    const { data } = event;
    const transferId = `${event.id}/points`;
    const rules = await this.earnings.getRules(data.communityId);
    const requested = data.points === 0 ? rules.reportPoints : data.points;
    if (requested === 0) return;
    const granted = await this.earnings.grant(data.reporterUserId, transferId, requested, new Date(data.acceptedAt), rules);
    if (granted === 0) return;
    await this.createTransfer({
      transferId,
      debit: { kind: 'community_issuance', id: data.communityId, communityId: data.communityId },
      credit: { kind: 'member', id: data.reporterUserId, communityId: data.communityId },
      asset: 'POINTS',
      amount: granted,
      reason: 'report_reward',
      reference: data.reportId,
    });
  }

  /**
   * Credits a verified attendance: love points by the activity's rule, within the community's
   * caps, and the verified minutes as TIME, both issued by the community. Transfer ids derive
   * from the event id, so however often the event is delivered, each credit happens once.
   */
  async creditAttendance(event: Envelope<AttendanceVerifiedData | AttendanceVerifiedV2Data>): Promise<void> {
    const { data } = event;
    const issuance = { kind: 'community_issuance' as const, id: data.communityId, communityId: data.communityId };
    const member = { kind: 'member' as const, id: data.userId, communityId: data.communityId };
    const pointsTransferId = `${event.id}/points`;
    const requested = attendanceRewardPoints(data);
    if (requested > 0) {
      const rules = await this.earnings.getRules(data.communityId);
      const granted = await this.earnings.grant(data.userId, pointsTransferId, requested, new Date(data.verifiedAt), rules);
      if (granted > 0) {
        await this.createTransfer({
          transferId: pointsTransferId,
          debit: issuance,
          credit: member,
          asset: 'POINTS',
          amount: granted,
          reason: 'activity_reward',
          reference: data.attendanceId,
        });
      }
    }
    if (data.minutes > 0) {
      await this.createTransfer({
        transferId: `${event.id}/time`,
        debit: issuance,
        credit: member,
        asset: 'TIME',
        amount: data.minutes,
        reason: 'activity_reward',
        reference: data.attendanceId,
      });
    }
  }
}

export { periods as leaderboardPeriods };
