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
  'expiry',
] as const;
export type ReasonCode = (typeof reasonCodes)[number];

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
export type TransferRefusal = 'amount_must_be_positive' | 'amount_must_be_integer' | 'amount_too_large' | 'accounts_must_be_different' | 'transfer_id_required';

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
