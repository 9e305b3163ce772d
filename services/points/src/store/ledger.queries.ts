import { DomainError } from '@lovepoints/errors';
import type { AccountDocument, LedgerRepository, TransferDocument } from './ledger.repository';

export interface StatementItem {
  transferId: string;
  amount: number;
  direction: 'credit' | 'debit';
  reason: string;
  reference: string;
  balanceAfter: number;
  at: string;
}

interface StatementCursor {
  postedAtMs: number;
  transferId: string;
  /** The posted balance right after the next (older) item. */
  balanceAfter: number;
}

function encodeCursor(cursor: StatementCursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

function decodeCursor(cursor: string): StatementCursor {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as Partial<StatementCursor>;
    if (typeof parsed.postedAtMs === 'number' && typeof parsed.transferId === 'string' && Number.isSafeInteger(parsed.balanceAfter)) {
      return parsed as StatementCursor;
    }
  } catch {
    // Refused below.
  }
  throw new DomainError('invalid_argument', 'invalid_cursor', 'The cursor is not one this service issued.', [{ path: 'cursor', message: 'unknown cursor' }]);
}

type BalanceFields = Pick<AccountDocument, 'debitsPosted' | 'creditsPosted' | 'debitsPending' | 'creditsPending' | 'available' | 'earnedPosted'>;

export interface VerificationReport {
  accountsChecked: number;
  transfersChecked: number;
  differences: { accountId: string; field: string; expected: number; actual: number }[];
  sums: { asset: string; postedSum: number }[];
  transfersInFlight: number;
}

/** Reads over the ledger: statements, earned totals, leaderboards and verification. */
export class LedgerQueries {
  constructor(private readonly ledger: LedgerRepository) {}

  /** Sum of posted amounts on one side of an account, optionally only those posted before a time. */
  async postedSum(accountId: string, side: 'debitAccountId' | 'creditAccountId', postedBefore?: Date): Promise<number> {
    const [row] = await this.ledger.transfers.aggregate<{ total: number }>([
      { $match: { [side]: accountId, state: 'posted', ...(postedBefore ? { postedAt: { $lt: postedBefore } } : {}) } },
      { $group: { _id: null, total: { $sum: '$amount' } } },
    ]);
    return row?.total ?? 0;
  }

  /**
   * Posted movements of one account, newest first, each with the balance right after it. The
   * balances come from the transfer log itself (not from the account document), so a statement
   * is consistent with its own items even while other transfers are being applied; the cursor
   * carries the running balance so a page never re-reads the pages before it.
   */
  async statement(accountId: string, page: { limit: number; cursor: string }): Promise<{ items: StatementItem[]; nextCursor: string }> {
    let balanceAfter: number;
    const filter: Record<string, unknown> = { state: 'posted', $or: [{ debitAccountId: accountId }, { creditAccountId: accountId }] };
    if (page.cursor === '') {
      const [credits, debits] = await Promise.all([this.postedSum(accountId, 'creditAccountId'), this.postedSum(accountId, 'debitAccountId')]);
      balanceAfter = credits - debits;
    } else {
      const cursor = decodeCursor(page.cursor);
      balanceAfter = cursor.balanceAfter;
      const postedAt = new Date(cursor.postedAtMs);
      filter.$and = [{ $or: [{ postedAt: { $lt: postedAt } }, { postedAt, _id: { $lt: cursor.transferId } }] }];
    }
    const rows = await this.ledger.transfers
      .find(filter, { outbox: 0 })
      .sort({ postedAt: -1, _id: -1 })
      .limit(page.limit + 1)
      .lean();
    const items: StatementItem[] = [];
    for (const row of rows.slice(0, page.limit)) {
      const direction = row.creditAccountId === accountId ? 'credit' : 'debit';
      items.push({
        transferId: row._id,
        amount: row.amount,
        direction,
        reason: row.reason,
        reference: row.reference,
        balanceAfter,
        at: (row.postedAt ?? row.createdAt).toISOString(),
      });
      balanceAfter -= direction === 'credit' ? row.amount : -row.amount;
    }
    const last = rows[page.limit - 1];
    const nextCursor =
      rows.length > page.limit && last ? encodeCursor({ postedAtMs: (last.postedAt ?? last.createdAt).getTime(), transferId: last._id, balanceAfter }) : '';
    return { items, nextCursor };
  }

  /** Members of a community by points earned since `from`, best first; equal points share a rank. */
  async leaderboard(communityId: string, from: Date | undefined, limit: number): Promise<{ userId: string; points: number; rank: number }[]> {
    const rows = await this.ledger.transfers.aggregate<{ _id: string; points: number }>([
      { $match: { communityId, earnerUserId: { $ne: '' }, state: 'posted', ...(from ? { postedAt: { $gte: from } } : {}) } },
      { $group: { _id: '$earnerUserId', points: { $sum: '$earnedPoints' } } },
      { $match: { points: { $gt: 0 } } },
      { $sort: { points: -1, _id: 1 } },
      { $limit: limit },
    ]);
    let rank = 0;
    let previous: number | undefined;
    return rows.map((row, index) => {
      if (row.points !== previous) rank = index + 1;
      previous = row.points;
      return { userId: row._id, points: row.points, rank };
    });
  }

  /**
   * Replays every transfer and compares the result with every account. Accounts touched by a
   * transfer still being applied are left out of the comparison (recovery completes them) and
   * counted in `transfersInFlight`.
   */
  async verify(): Promise<VerificationReport> {
    const expected = new Map<string, BalanceFields>();
    const uncertain = new Set<string>();
    const fieldsOf = (id: string): BalanceFields => {
      let fields = expected.get(id);
      if (fields === undefined) {
        fields = { debitsPosted: 0, creditsPosted: 0, debitsPending: 0, creditsPending: 0, available: 0, earnedPosted: 0 };
        expected.set(id, fields);
      }
      return fields;
    };
    let transfersChecked = 0;
    let transfersInFlight = 0;
    // Only the fields the replay needs, a thousand at a time: the ledger may hold millions.
    const cursor = this.ledger.transfers
      .find({}, { state: 1, amount: 1, heldAmount: 1, debitAccountId: 1, creditAccountId: 1, earnedPoints: 1, earnerUserId: 1 })
      .batchSize(1000)
      .lean<TransferDocument[]>()
      .cursor();
    for await (const transfer of cursor as AsyncIterable<TransferDocument>) {
      transfersChecked += 1;
      const debit = fieldsOf(transfer.debitAccountId);
      const credit = fieldsOf(transfer.creditAccountId);
      switch (transfer.state) {
        case 'posted':
          debit.debitsPosted += transfer.amount;
          credit.creditsPosted += transfer.amount;
          if (transfer.earnedPoints !== 0 && transfer.earnerUserId !== '')
            fieldsOf(`member:${transfer.earnerUserId}:POINTS`).earnedPosted += transfer.earnedPoints;
          break;
        case 'pending':
          debit.debitsPending += transfer.heldAmount;
          credit.creditsPending += transfer.heldAmount;
          break;
        case 'applying':
        case 'posting':
        case 'voiding':
          transfersInFlight += 1;
          uncertain.add(transfer.debitAccountId);
          uncertain.add(transfer.creditAccountId);
          break;
        case 'voided':
        case 'rejected':
          break;
      }
    }
    const differences: VerificationReport['differences'] = [];
    const sums = new Map<string, number>();
    let accountsChecked = 0;
    for await (const account of this.ledger.accounts.find({}).lean<AccountDocument[]>().cursor() as AsyncIterable<AccountDocument>) {
      accountsChecked += 1;
      sums.set(account.asset, (sums.get(account.asset) ?? 0) + account.creditsPosted - account.debitsPosted);
      if (uncertain.has(account._id)) continue;
      const replayed = fieldsOf(account._id);
      replayed.available = replayed.creditsPosted - replayed.debitsPosted - replayed.debitsPending;
      for (const field of ['debitsPosted', 'creditsPosted', 'debitsPending', 'creditsPending', 'available', 'earnedPosted'] as const) {
        if (replayed[field] !== account[field]) differences.push({ accountId: account._id, field, expected: replayed[field], actual: account[field] });
      }
    }
    return { accountsChecked, transfersChecked, differences, sums: [...sums].map(([asset, postedSum]) => ({ asset, postedSum })), transfersInFlight };
  }
}
