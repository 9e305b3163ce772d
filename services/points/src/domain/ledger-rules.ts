import { createHash } from 'node:crypto';

/**
 * Pure rules of the ledger: which transfers are well-formed, how accounts are named, and what
 * makes two requests "the same transfer". No I/O here.
 */
export const assets = ['POINTS', 'TIME'] as const;
export type Asset = (typeof assets)[number];

export const ownerKinds = ['member', 'community_issuance', 'community_pool', 'shop', 'system'] as const;
export type OwnerKind = (typeof ownerKinds)[number];

export const reasonCodes = [
  'activity_reward',
  'report_reward',
  'discussion_reward',
  'redemption',
  'service_payment',
  'donation',
  'family_payment',
  'adjustment',
  'reversal',
  'settlement',
  'expiry',
] as const;
export type ReasonCode = (typeof reasonCodes)[number];

/** Reasons whose POINTS credits to a member count as earned (leaderboards, star tiers, caps). */
export const earningReasons: readonly string[] = ['activity_reward', 'report_reward', 'discussion_reward'];

export interface AccountOwner {
  kind: OwnerKind;
  id: string;
  communityId: string;
}

export interface TransferCommand {
  transferId: string;
  debit: AccountOwner;
  credit: AccountOwner;
  asset: Asset;
  amount: number;
  reason: ReasonCode;
  reference: string;
}

/** Exact result codes for a refused transfer, in the spirit of TigerBeetle's. */
export type TransferRefusal =
  'amount_must_be_positive' | 'amount_must_be_integer' | 'amount_too_large' | 'accounts_must_be_different' | 'transfer_id_required' | 'transfer_id_too_long';

export function accountId(owner: Pick<AccountOwner, 'kind' | 'id'>, asset: Asset): string {
  return `${owner.kind}:${owner.id}:${asset}`;
}

/**
 * Whether an account may go below zero. Only issuance accounts may: points enter circulation
 * by being debited from them, which is what keeps the sum of all balances at zero.
 */
export function mayGoNegative(kind: OwnerKind): boolean {
  return kind === 'community_issuance' || kind === 'system';
}

export function checkTransfer(command: TransferCommand): TransferRefusal | 'ok' {
  if (command.transferId.trim() === '') return 'transfer_id_required';
  if (command.transferId.length > 200) return 'transfer_id_too_long';
  if (!Number.isFinite(command.amount) || !Number.isInteger(command.amount)) return 'amount_must_be_integer';
  if (command.amount <= 0) return 'amount_must_be_positive';
  if (!Number.isSafeInteger(command.amount)) return 'amount_too_large';
  if (accountId(command.debit, command.asset) === accountId(command.credit, command.asset)) return 'accounts_must_be_different';
  return 'ok';
}

/** A digest of everything but the id: the same id with another digest is a misuse of the id. */
export function transferFingerprint(command: TransferCommand): string {
  const { transferId: _transferId, ...content } = command;
  return createHash('sha256')
    .update(
      JSON.stringify([
        content.debit.kind,
        content.debit.id,
        content.credit.kind,
        content.credit.id,
        content.asset,
        content.amount,
        content.reason,
        content.reference,
      ]),
    )
    .digest('base64url');
}

/** Balance fields of an account that transfers change. */
export type BalanceField = 'debitsPosted' | 'creditsPosted' | 'debitsPending' | 'creditsPending' | 'available' | 'earnedPosted';
export type BalanceChange = Partial<Record<BalanceField, number>>;

/** One account's part of a transfer phase, and the spendable amount it needs, if any. */
export interface AccountEffect {
  accountId: string;
  change: BalanceChange;
  /** The update applies only if `available` is at least this (member accounts being debited). */
  requiresAvailable?: number;
}

export type Phase = 'apply' | 'post' | 'void';

/**
 * What each phase of a transfer does to its two accounts. `available` is kept equal to
 * creditsPosted − debitsPosted − debitsPending, so a hold makes its amount unspendable at once
 * and a void gives it back; incoming pending credits are not spendable until posted. When a
 * transfer posts, the earner's account also adds its `earnedPoints` to `earnedPosted` (a reversal
 * subtracts them), so lifetime points and star tiers are read in O(1).
 */
export function phaseEffects(
  phase: Phase,
  transfer: {
    debitAccountId: string;
    creditAccountId: string;
    pending: boolean;
    heldAmount: number;
    amount: number;
    earnerUserId: string;
    earnedPoints: number;
  },
  debitMayGoNegative: boolean,
): AccountEffect[] {
  const effects = balanceEffects(phase, transfer, debitMayGoNegative);
  const posts = phase === 'post' || (phase === 'apply' && !transfer.pending);
  if (!posts || transfer.earnedPoints === 0 || transfer.earnerUserId === '') return effects;
  const earnerAccountId = accountId({ kind: 'member', id: transfer.earnerUserId }, 'POINTS');
  return effects.map((effect) =>
    effect.accountId === earnerAccountId ? { ...effect, change: { ...effect.change, earnedPosted: transfer.earnedPoints } } : effect,
  );
}

function balanceEffects(
  phase: Phase,
  transfer: { debitAccountId: string; creditAccountId: string; pending: boolean; heldAmount: number; amount: number },
  debitMayGoNegative: boolean,
): AccountEffect[] {
  const { debitAccountId, creditAccountId } = transfer;
  switch (phase) {
    case 'apply': {
      const amount = transfer.pending ? transfer.heldAmount : transfer.amount;
      const requirement = debitMayGoNegative ? {} : { requiresAvailable: amount };
      return transfer.pending
        ? [
            { accountId: debitAccountId, change: { debitsPending: amount, available: -amount }, ...requirement },
            { accountId: creditAccountId, change: { creditsPending: amount } },
          ]
        : [
            { accountId: debitAccountId, change: { debitsPosted: amount, available: -amount }, ...requirement },
            { accountId: creditAccountId, change: { creditsPosted: amount, available: amount } },
          ];
    }
    case 'post': {
      const held = transfer.heldAmount;
      const posted = transfer.amount;
      return [
        { accountId: debitAccountId, change: { debitsPending: -held, debitsPosted: posted, available: held - posted } },
        { accountId: creditAccountId, change: { creditsPending: -held, creditsPosted: posted, available: posted } },
      ];
    }
    case 'void': {
      const held = transfer.heldAmount;
      return [
        { accountId: debitAccountId, change: { debitsPending: -held, available: held } },
        { accountId: creditAccountId, change: { creditsPending: -held } },
      ];
    }
  }
}

/**
 * Which account updates of one batch can go out as one write: unchecked changes to the same
 * account (credits to a busy shop, debits of an issuance account) add up, so one update can
 * carry them all. A checked change stays alone, since its condition is its own, and so does a
 * repeated marker (the same phase submitted twice must not be added twice). Returns groups of
 * indexes into `writes`, in the order of their first write.
 */
export function groupAccountWrites(writes: { accountId: string; markerKey: string; requiresAvailable?: number }[]): number[][] {
  const groups: number[][] = [];
  const open = new Map<string, { indexes: number[]; markerKeys: Set<string> }>();
  writes.forEach((write, index) => {
    if (write.requiresAvailable !== undefined) {
      groups.push([index]);
      return;
    }
    const group = open.get(write.accountId);
    if (group !== undefined && !group.markerKeys.has(write.markerKey)) {
      group.indexes.push(index);
      group.markerKeys.add(write.markerKey);
      return;
    }
    const indexes = [index];
    groups.push(indexes);
    if (group === undefined) open.set(write.accountId, { indexes, markerKeys: new Set([write.markerKey]) });
  });
  return groups;
}

/** The sum of several balance changes, field by field. */
export function addChanges(changes: BalanceChange[]): BalanceChange {
  const sum: BalanceChange = {};
  for (const change of changes) {
    for (const [field, amount] of Object.entries(change) as [BalanceField, number][]) sum[field] = (sum[field] ?? 0) + amount;
  }
  return sum;
}
