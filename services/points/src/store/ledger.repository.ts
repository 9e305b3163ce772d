import { DomainError } from '@lovepoints/errors';
import type { Logger } from '@lovepoints/logging';
import { type Connection, isDuplicateKeyError } from '@lovepoints/mongo';
import { Schema } from 'mongoose';
import { type AccountOwner, type Asset, accountId, mayGoNegative, transferFingerprint, type TransferCommand } from '../domain/ledger-rules';

export interface AccountDocument {
  _id: string;
  asset: Asset;
  ownerKind: string;
  ownerId: string;
  communityId: string;
  mayGoNegative: boolean;
  debitsPosted: number;
  creditsPosted: number;
  debitsPending: number;
  creditsPending: number;
  /** creditsPosted − debitsPosted − debitsPending: what can be spent now, kept for O(1) checks. */
  available: number;
  /** Ids of transfers applied to this account but not yet marked posted (see applySteps). */
  inflight: string[];
  createdAt: Date;
}

export interface TransferDocument {
  _id: string;
  debitAccountId: string;
  creditAccountId: string;
  asset: Asset;
  amount: number;
  reason: string;
  reference: string;
  state: 'applying' | 'posted' | 'rejected';
  rejection: string | null;
  fingerprint: string;
  leaseUntil: Date | null;
  createdAt: Date;
  postedAt: Date | null;
}

function insufficientBalance(): DomainError {
  return new DomainError('conflict', 'insufficient_balance', 'The balance is not enough for this transfer.');
}

/**
 * The ledger's storage, correct on a standalone MongoDB without multi-document transactions.
 *
 * A transfer is applied in steps, each a single-document atomic update that can be repeated
 * without effect (the classic two-phase pattern):
 *   1. insert the transfer as `applying` (its id makes the request idempotent);
 *   2. debit: `$inc` the debit account and push the transfer id into `inflight`, only if the id is
 *      not already there and, for member accounts, only if `available` covers the amount, so the
 *      overdraft check happens inside the update and concurrent spenders can never overdraw;
 *   3. credit: the same on the credit account, without the balance condition;
 *   4. mark the transfer `posted`;
 *   5. pull the id from both `inflight` lists.
 * A process killed between any two steps leaves a transfer `applying` whose lease runs out;
 * recovery repeats the steps, and the `inflight` guards make each repetition a no-op where the
 * step already happened. Only the lease holder runs the steps, and ids leave `inflight` only
 * after the transfer is `posted`, so a step is never applied twice.
 */
export class LedgerRepository {
  private readonly accounts;
  private readonly transfers;

  constructor(
    connection: Connection,
    private readonly logger: Logger,
    private readonly leaseMs = 10_000,
  ) {
    this.accounts = connection.model<AccountDocument>(
      'Account',
      new Schema<AccountDocument>({
        _id: String,
        asset: { type: String, required: true },
        ownerKind: { type: String, required: true },
        ownerId: { type: String, required: true },
        communityId: { type: String, required: true, index: true },
        mayGoNegative: { type: Boolean, required: true },
        debitsPosted: { type: Number, default: 0 },
        creditsPosted: { type: Number, default: 0 },
        debitsPending: { type: Number, default: 0 },
        creditsPending: { type: Number, default: 0 },
        available: { type: Number, default: 0 },
        inflight: { type: [String], default: [] },
        createdAt: { type: Date, default: () => new Date() },
      }),
    );
    const transferSchema = new Schema<TransferDocument>({
      _id: String,
      debitAccountId: { type: String, required: true, index: true },
      creditAccountId: { type: String, required: true, index: true },
      asset: { type: String, required: true },
      amount: { type: Number, required: true },
      reason: { type: String, required: true },
      reference: { type: String, default: '' },
      state: { type: String, required: true },
      rejection: { type: String, default: null },
      fingerprint: { type: String, required: true },
      leaseUntil: { type: Date, default: null },
      createdAt: { type: Date, default: () => new Date() },
      postedAt: { type: Date, default: null },
    });
    transferSchema.index({ state: 1, leaseUntil: 1 });
    this.transfers = connection.model<TransferDocument>('Transfer', transferSchema);
  }

  async init(): Promise<void> {
    await Promise.all([this.accounts.init(), this.transfers.init()]);
  }

  /** Opens the account of an owner for an asset if it does not exist; idempotent. */
  async openAccount(owner: AccountOwner, asset: Asset): Promise<AccountDocument> {
    const id = accountId(owner, asset);
    const account = await this.accounts
      .findOneAndUpdate(
        { _id: id },
        {
          $setOnInsert: {
            asset,
            ownerKind: owner.kind,
            ownerId: owner.id,
            communityId: owner.communityId,
            mayGoNegative: mayGoNegative(owner.kind),
            inflight: [],
            createdAt: new Date(),
          },
        },
        { upsert: true, new: true },
      )
      .lean();
    if (account === null) throw new Error(`account ${id} could not be opened`);
    return account;
  }

  async findAccount(id: string): Promise<AccountDocument | null> {
    return this.accounts.findById(id).lean();
  }

  /** Applies a validated transfer once per id; see the class comment for the protocol. */
  async transfer(command: TransferCommand): Promise<TransferDocument> {
    const [debit, credit] = await Promise.all([this.openAccount(command.debit, command.asset), this.openAccount(command.credit, command.asset)]);
    const fingerprint = transferFingerprint(command);
    let transfer: TransferDocument;
    try {
      transfer = (
        await this.transfers.create({
          _id: command.transferId,
          debitAccountId: debit._id,
          creditAccountId: credit._id,
          asset: command.asset,
          amount: command.amount,
          reason: command.reason,
          reference: command.reference,
          state: 'applying',
          fingerprint,
          leaseUntil: new Date(Date.now() + this.leaseMs),
        })
      ).toObject();
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      return this.replay(command.transferId, fingerprint);
    }
    return this.applySteps(transfer, debit.mayGoNegative);
  }

  /** The answer for an id seen before: the first result, or an error if the content differs. */
  private async replay(transferId: string, fingerprint: string): Promise<TransferDocument> {
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const existing = await this.transfers.findById(transferId).lean();
      if (existing === null) throw new Error(`transfer ${transferId} vanished`);
      if (existing.fingerprint !== fingerprint) {
        throw new DomainError('conflict', 'transfer_id_reused', 'That transfer id was already used for a different transfer.');
      }
      if (existing.state === 'posted') return existing;
      if (existing.state === 'rejected') throw insufficientBalance();
      const leased = await this.acquireLease(transferId);
      if (leased !== null) {
        const debit = await this.findAccount(leased.debitAccountId);
        return this.applySteps(leased, debit?.mayGoNegative ?? false);
      }
      // Another request holds the lease and is applying it now: wait for its outcome.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new DomainError('unavailable', 'transfer_in_progress', 'The transfer is still being applied; retry with the same id.');
  }

  private async acquireLease(transferId: string): Promise<TransferDocument | null> {
    const now = new Date();
    return this.transfers
      .findOneAndUpdate(
        { _id: transferId, state: 'applying', leaseUntil: { $lt: now } },
        { $set: { leaseUntil: new Date(now.getTime() + this.leaseMs) } },
        { new: true },
      )
      .lean();
  }

  private async applySteps(transfer: TransferDocument, debitMayGoNegative: boolean): Promise<TransferDocument> {
    const { _id: id, amount } = transfer;
    const debited = await this.accounts.updateOne(
      { _id: transfer.debitAccountId, inflight: { $ne: id }, ...(debitMayGoNegative ? {} : { available: { $gte: amount } }) },
      { $inc: { debitsPosted: amount, available: -amount }, $push: { inflight: id } },
    );
    if (debited.modifiedCount === 0) {
      const alreadyDebited = await this.accounts.exists({ _id: transfer.debitAccountId, inflight: id });
      if (alreadyDebited === null) {
        // Nothing was applied (the debit comes first), so refusing leaves no trace but the record.
        await this.transfers.updateOne({ _id: id, state: 'applying' }, { $set: { state: 'rejected', rejection: 'exceeds_credits', leaseUntil: null } });
        throw insufficientBalance();
      }
    }
    await this.accounts.updateOne(
      { _id: transfer.creditAccountId, inflight: { $ne: id } },
      { $inc: { creditsPosted: amount, available: amount }, $push: { inflight: id } },
    );
    const postedAt = new Date();
    await this.transfers.updateOne({ _id: id, state: 'applying' }, { $set: { state: 'posted', postedAt, leaseUntil: null } });
    await this.accounts.updateMany({ _id: { $in: [transfer.debitAccountId, transfer.creditAccountId] } }, { $pull: { inflight: id } });
    return { ...transfer, state: 'posted', postedAt, leaseUntil: null };
  }

  /**
   * Completes what a dead process left half-done: transfers still `applying` after their lease,
   * and ids of posted transfers still listed in an account's `inflight`. Safe to run any time.
   */
  async recover(limit = 1000): Promise<{ completed: number; rejected: number; released: number }> {
    let completed = 0;
    let rejected = 0;
    const stale = await this.transfers
      .find({ state: 'applying', leaseUntil: { $lt: new Date() } })
      .limit(limit)
      .lean();
    for (const candidate of stale) {
      const leased = await this.acquireLease(candidate._id);
      if (leased === null) continue;
      const debit = await this.findAccount(leased.debitAccountId);
      try {
        await this.applySteps(leased, debit?.mayGoNegative ?? false);
        completed += 1;
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        rejected += 1;
      }
    }
    let released = 0;
    const withInflight = await this.accounts
      .find({ 'inflight.0': { $exists: true } }, { inflight: 1 })
      .limit(limit)
      .lean();
    for (const account of withInflight) {
      const posted = await this.transfers.find({ _id: { $in: account.inflight }, state: 'posted' }, { _id: 1 }).lean();
      if (posted.length === 0) continue;
      await this.accounts.updateOne({ _id: account._id }, { $pull: { inflight: { $in: posted.map((transfer) => transfer._id) } } });
      released += posted.length;
    }
    if (completed + rejected + released > 0) this.logger.warn({ completed, rejected, released }, 'ledger recovery finished interrupted transfers');
    return { completed, rejected, released };
  }
}
