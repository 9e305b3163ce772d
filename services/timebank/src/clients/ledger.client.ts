import { DomainError } from '@lovepoints/errors';
import { callUnary, type ServiceClients } from '@lovepoints/grpc';
import type { PayerCandidate } from '../domain/order-rules';

export interface LedgerOwner {
  kind: 'member' | 'community_pool';
  id: string;
  communityId: string;
}

/** The ledger account that pays for a payer candidate. */
export function payerOwner(payer: PayerCandidate): LedgerOwner {
  return payer.kind === 'pool'
    ? { kind: 'community_pool', id: payer.communityId, communityId: payer.communityId }
    : { kind: 'member', id: payer.userId, communityId: payer.communityId };
}

export function memberOwner(userId: string, communityId: string): LedgerOwner {
  return { kind: 'member', id: userId, communityId };
}

export function poolOwner(communityId: string): LedgerOwner {
  return { kind: 'community_pool', id: communityId, communityId };
}

export interface HoldCommand {
  transferId: string;
  debit: LedgerOwner;
  credit: LedgerOwner;
  minutes: number;
  reason: 'service_payment' | 'family_payment';
  reference: string;
}

/** A TIME transfer of the ledger's gRPC contract. */
function transferRequest(command: Omit<HoldCommand, 'reason'> & { reason: HoldCommand['reason'] | 'donation' }) {
  return {
    transferId: command.transferId,
    debit: command.debit,
    credit: command.credit,
    asset: 'TIME',
    amount: command.minutes,
    reason: command.reason,
    reference: command.reference,
  };
}

/**
 * The time bank's only way to move minutes: the points service's ledger (asset TIME), called as
 * a platform service (no caller identity). Every call is idempotent by its transfer id.
 */
export class LedgerClient {
  constructor(
    private readonly clients: Pick<ServiceClients, 'points'>,
    private readonly deadlineMs: number,
    private readonly holdTimeoutMs: number,
  ) {}

  /** Spendable and held minutes of an account (opening it if it is new). */
  async account(owner: LedgerOwner): Promise<{ available: number; held: number }> {
    const account = await callUnary(this.clients.points, 'openAccount', { owner, asset: 'TIME' }, { deadlineMs: this.deadlineMs });
    return { available: account.available, held: account.debitsPending };
  }

  /** Places a hold; false when the payer does not have the minutes (nothing was moved). */
  async hold(command: HoldCommand): Promise<boolean> {
    try {
      await callUnary(
        this.clients.points,
        'createHold',
        {
          transfer: transferRequest(command),
          timeoutMs: this.holdTimeoutMs,
        },
        { deadlineMs: this.deadlineMs },
      );
      return true;
    } catch (error) {
      if (error instanceof DomainError && error.code === 'insufficient_balance') return false;
      throw error;
    }
  }

  /** Posts `minutes` of a hold; false when the hold is gone (expired or voided), so nothing was paid from it. */
  async post(transferId: string, minutes: number): Promise<boolean> {
    try {
      await callUnary(this.clients.points, 'postHold', { transferId, amount: minutes }, { deadlineMs: this.deadlineMs });
      return true;
    } catch (error) {
      if (error instanceof DomainError && ['hold_expired', 'hold_already_voided', 'hold_rejected'].includes(error.code)) return false;
      throw error;
    }
  }

  /** Voids a hold; a hold that was never placed, was refused or is already voided counts as voided. */
  async void(transferId: string): Promise<void> {
    try {
      await callUnary(this.clients.points, 'voidHold', { transferId }, { deadlineMs: this.deadlineMs });
    } catch (error) {
      if (error instanceof DomainError && ['not_found', 'hold_rejected'].includes(error.code)) return;
      throw error;
    }
  }

  /** A direct transfer (donations). */
  async transfer(command: Omit<HoldCommand, 'reason'> & { reason: 'donation' }) {
    return callUnary(this.clients.points, 'createTransfer', transferRequest(command), { deadlineMs: this.deadlineMs });
  }

  async statement(owner: LedgerOwner, page: { limit: number; cursor: string }) {
    return callUnary(this.clients.points, 'getStatement', { userId: '', asset: 'TIME', page, owner }, { deadlineMs: this.deadlineMs });
  }
}
