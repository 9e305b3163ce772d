import { createEvent, holdPlaced, holdVoided, transferPosted, type Envelope } from '@lovepoints/events';
import { DomainError } from '@lovepoints/errors';
import type { Logger } from '@lovepoints/logging';
import { AutoBatcher, CollectionWrites, type Connection, type SingleUpdate } from '@lovepoints/mongo';
import { type OutboxEntry, outboxEntry, type OutboxRelay, outboxSchemaFields } from '@lovepoints/outbox';
import { mongo, Schema } from 'mongoose';
import {
  type AccountEffect,
  type AccountOwner,
  type Asset,
  accountId,
  addChanges,
  earningReasons,
  groupAccountWrites,
  mayGoNegative,
  type Phase,
  phaseEffects,
  type TransferCommand,
  transferFingerprint,
} from '../domain/ledger-rules';

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
  /** Points earned over the owner's lifetime (reversed earnings subtracted), for star tiers. */
  earnedPosted: number;
  /**
   * Phases applied here, as field names (`markerKey`) of `<transfer id>#<phase>`: set by the
   * account update of the phase, removed some time after the transfer has finished.
   */
  markers?: Record<string, true>;
  createdAt: Date;
}

export type TransferState = 'applying' | 'posted' | 'pending' | 'posting' | 'voiding' | 'voided' | 'rejected';

export interface TransferDocument {
  _id: string;
  debitAccountId: string;
  creditAccountId: string;
  asset: Asset;
  /** Posted amount; for a hold not yet posted, the amount held. */
  amount: number;
  /** For a hold, the amount originally held; 0 for a direct transfer. */
  heldAmount: number;
  pending: boolean;
  reason: string;
  reference: string;
  communityId: string;
  /** The member who earned this, for leaderboards and tiers; '' when it is not earning. */
  earnerUserId: string;
  /** Points this transfer adds to (or, for a reversal, removes from) the earner's lifetime total. */
  earnedPoints: number;
  state: TransferState;
  rejection: string | null;
  fingerprint: string;
  expiresAt: Date | null;
  leaseUntil: Date | null;
  createdAt: Date;
  postedAt: Date | null;
  resolvedAt: Date | null;
  reverses: string | null;
  /** The id of the transfer that reversed this one. */
  reversedBy: string | null;
  outbox: OutboxEntry[];
}

const insufficientBalance = () => new DomainError('conflict', 'insufficient_balance', 'The balance is not enough for this transfer.');
const phaseMarker = (transferId: string, phase: Phase) => `${transferId}#${phase}`;
/** A marker as a field name: transfer ids may hold any character, field names no `.` and no leading `$`. */
const markerKey = (marker: string) => marker.replace(/[%.$\0]/g, (character) => `%${character.charCodeAt(0).toString(16).padStart(2, '0')}`);
const markerOfKey = (key: string) => decodeURIComponent(key);
const markerPath = (key: string) => `markers.${key}`;
/**
 * A document whose field names are made up on the spot (marker paths), as a Map: BSON writes a
 * Map like an object, and V8 builds no hidden class per unique field name, which for object
 * literals cost more than the rest of the update.
 */
const fieldsDocument = (entries: [string, unknown][]) => new Map(entries) as unknown as mongo.Document;
const unsetMarkers = (keys: string[]) => fieldsDocument(keys.map((key) => [markerPath(key), '']));
/** Accounts holding any marker (`{}` and a missing field hold none). */
const holdsMarkers = { markers: { $exists: true, $ne: {} } };

/**
 * Fields a stored transfer leaves out while they hold these values. Most transfers never set
 * them, and the MongoDB stand-in copies and compares every field of a document on each of its
 * later updates (a fifth more transfers per second without them). Reads fill them back in with
 * `withDefaults`; queries on them match a missing field as null, as on MongoDB.
 */
const omittedDefaults = {
  heldAmount: 0,
  pending: false,
  rejection: null,
  expiresAt: null,
  postedAt: null,
  resolvedAt: null,
  reverses: null,
  reversedBy: null,
} satisfies Partial<TransferDocument>;

/** A new transfer as stored: without the fields at their defaults, and with no outbox yet (`$push` makes one). */
function storedForm(transfer: TransferDocument): Partial<TransferDocument> {
  const stored: Partial<TransferDocument> = { ...transfer };
  for (const [field, value] of Object.entries(omittedDefaults) as [keyof typeof omittedDefaults, unknown][]) {
    if (stored[field] === value) delete stored[field];
  }
  if (transfer.outbox.length === 0) delete stored.outbox;
  return stored;
}

/** A transfer as read, with the fields its stored form left out (see `omittedDefaults`). */
function withDefaults(stored: Partial<TransferDocument> | null): TransferDocument | null {
  return stored === null ? null : ({ ...omittedDefaults, ...stored } as TransferDocument);
}

/** The in-progress state of each phase, and the state it finishes in. */
const phaseStates: Record<Phase, { running: TransferState }> = {
  apply: { running: 'applying' },
  post: { running: 'posting' },
  void: { running: 'voiding' },
};

/** What the ledger needs of the outbox relay. */
export type LedgerOutbox = Pick<OutboxRelay, 'claimFields' | 'written' | 'nudge'>;

/** One account's part of a phase, written once (see the class comment). */
interface EffectWrite {
  accountId: string;
  /** The phase's marker, as a field name. */
  markerKey: string;
  change: AccountEffect['change'];
  requiresAvailable?: number;
}

type EffectOutcome = 'applied' | 'insufficient' | 'missing';

export interface HoldOptions {
  expiresAt: Date;
}

/**
 * The ledger's storage, correct on a standalone MongoDB without multi-document transactions.
 *
 * Every change is a phase of a transfer: `apply` (a direct transfer, or placing a hold), `post`
 * (a hold, for its amount or less) or `void` (a hold). A phase runs as:
 *   1. a conditional update of the transfer into the phase's running state (`applying`,
 *      `posting`, `voiding`) with a lease: only one caller wins it, so a hold resolves once;
 *   2. one single-document update per account, each adding the phase's changes and setting the
 *      phase marker as a field of the account (`markers.<transfer id>#<phase>`), only if the
 *      marker is not there yet and, for a member being debited, only if `available` covers the
 *      amount: the overdraft check happens inside the update, so concurrent spenders can never
 *      overdraw;
 *   3. a conditional update of the transfer to its final state, carrying its event in the same
 *      document's outbox (published by the relay);
 *   4. removing the marker from the accounts: it rides along with the account's next update, or
 *      goes out with others after `releaseDelayMs`, so it rarely costs a write of its own.
 * A process killed between any two writes leaves a transfer in a running state whose lease runs
 * out; recovery repeats the phase, and the markers make each repeated account update a no-op
 * where it had already happened. Markers are removed only after the transfer has left the
 * running state, and only the lease holder runs a phase, so no account update is applied twice.
 *
 * Concurrent transfers share round trips: each kind of write (inserting transfers, account
 * updates, finishing transfers) goes through an AutoBatcher, so under load one `insert` or
 * `update` command carries the same step of many transfers. Every write in it is still its own
 * single-document write, so a crash mid-batch leaves exactly the states described above. Unchecked
 * changes to one account in the same batch (a busy shop's credits) share one update that sets all
 * their markers, only if none is there yet: all of them apply or none does, and those held back by
 * one already applied are written again alone.
 */
export class LedgerRepository {
  readonly accounts;
  readonly transfers;
  /** Accounts never change owner or kind, so whether they may go negative is cached once seen. */
  private readonly knownAccounts = new Map<string, boolean>();

  private readonly leaseMs: number;
  private readonly outbox: LedgerOutbox | undefined;
  private readonly transferInserts: AutoBatcher<Partial<TransferDocument>, 'inserted' | 'duplicate' | 'failed'>;
  private readonly effectWrites: AutoBatcher<EffectWrite, EffectOutcome>;
  /** Each update's outcome: 'matched' when the whole batch was, else 'unknown' (the server counts per command, not per update). */
  private readonly transferUpdates: AutoBatcher<SingleUpdate<TransferDocument>, 'matched' | 'unknown'>;
  /** Markers of finished phases not yet removed, by account: the next update of the account removes them. */
  private readonly releasable = new Map<string, Set<string>>();
  private releaseTimer: NodeJS.Timeout | undefined;
  private readonly releaseDelayMs: number;
  /** Markers of phases this process is running now: a sweep leaves them alone. */
  private readonly runningMarkers = new Set<string>();
  private readonly markerSweepIntervalMs: number;
  private lastMarkerSweepAt = Number.NEGATIVE_INFINITY;
  private readonly balanceReads: AutoBatcher<string[], Map<string, AccountDocument>>;
  /** The accounts through the driver: balance reads and the rare writes beside the batched ones. */
  private readonly accountCollection: mongo.Collection<AccountDocument>;
  /** The hot path's batched writes, as plain write commands. */
  private readonly transferWrites: CollectionWrites;
  private readonly accountWrites: CollectionWrites;

  /**
   * `outbox` is the relay that publishes the transfers' events: each finishing update takes its
   * lease and hands it the event, so it publishes without reading the transfer back. Without one,
   * events wait in the transfers for a relay's search.
   */
  constructor(
    connection: Connection,
    private readonly logger: Logger,
    options: { leaseMs?: number; outbox?: LedgerOutbox; releaseDelayMs?: number; markerSweepIntervalMs?: number } = {},
  ) {
    this.leaseMs = options.leaseMs ?? 10_000;
    this.releaseDelayMs = options.releaseDelayMs ?? 1000;
    this.markerSweepIntervalMs = options.markerSweepIntervalMs ?? 60_000;
    this.outbox = options.outbox;
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
        earnedPosted: { type: Number, default: 0 },
        markers: { type: Schema.Types.Mixed },
        createdAt: { type: Date, default: () => new Date() },
      }),
    );
    const transferSchema = new Schema<TransferDocument>({
      _id: String,
      debitAccountId: { type: String, required: true },
      creditAccountId: { type: String, required: true },
      asset: { type: String, required: true },
      amount: { type: Number, required: true },
      heldAmount: { type: Number, default: 0 },
      pending: { type: Boolean, default: false },
      reason: { type: String, required: true },
      reference: { type: String, default: '' },
      communityId: { type: String, default: '' },
      earnerUserId: { type: String, default: '' },
      earnedPoints: { type: Number, default: 0 },
      state: { type: String, required: true },
      rejection: { type: String, default: null },
      fingerprint: { type: String, required: true },
      expiresAt: { type: Date, default: null },
      leaseUntil: { type: Date, default: null },
      createdAt: { type: Date, default: () => new Date() },
      postedAt: { type: Date, default: null },
      resolvedAt: { type: Date, default: null },
      reverses: { type: String, default: null },
      reversedBy: { type: String, default: null },
      ...outboxSchemaFields,
    });
    transferSchema.index({ state: 1, leaseUntil: 1 });
    transferSchema.index({ state: 1, expiresAt: 1 });
    transferSchema.index({ debitAccountId: 1, postedAt: -1 });
    transferSchema.index({ creditAccountId: 1, postedAt: -1 });
    transferSchema.index({ communityId: 1, earnerUserId: 1, postedAt: -1 });
    this.transfers = connection.model<TransferDocument>('Transfer', transferSchema);
    this.accountCollection = this.accounts.collection as unknown as mongo.Collection<AccountDocument>;
    this.transferWrites = new CollectionWrites(connection, this.transfers.collection.collectionName);
    this.accountWrites = new CollectionWrites(connection, this.accounts.collection.collectionName);
    this.transferInserts = new AutoBatcher({ run: (documents) => this.insertTransfers(documents), maxConcurrent: 1 });
    this.effectWrites = new AutoBatcher({ run: (writes) => this.writeEffects(writes), maxConcurrent: 1 });
    this.transferUpdates = new AutoBatcher({ run: (updates) => this.updateTransfers(updates), maxConcurrent: 1 });
    this.balanceReads = new AutoBatcher({ run: (idLists) => this.readAccounts(idLists), maxConcurrent: 2 });
  }

  /** Inserts new transfers; a duplicate id is an answer (the transfer exists), not a failure. */
  private async insertTransfers(documents: Partial<TransferDocument>[]): Promise<('inserted' | 'duplicate' | 'failed')[]> {
    const failures = await this.transferWrites.insertEach(documents);
    const outcomes = documents.map((): 'inserted' | 'duplicate' | 'failed' => 'inserted');
    for (const failure of failures) outcomes[failure.index] = failure.code === 11000 ? 'duplicate' : 'failed';
    if (outcomes.includes('failed')) this.logger.warn({ failures: failures.filter((failure) => failure.code !== 11000) }, 'inserting transfers partly failed');
    return outcomes;
  }

  /**
   * Applies account effects in one update command. Unchecked changes to the same account share
   * one update (`groupAccountWrites`); each update carries its markers and, for a spend, the
   * balance condition. Which took effect is read back from the markers, so an update that had
   * already been applied (recovery repeating a phase) also counts as applied.
   */
  private async writeEffects(writes: EffectWrite[], merge = true): Promise<EffectOutcome[]> {
    const groups = merge ? groupAccountWrites(writes) : writes.map((_, index) => [index]);
    // Each update also removes the account's releasable markers: a marker's removal rides along
    // with the next change of its account instead of costing a write of its own.
    const riders = groups.map((group) => this.takeReleasable(writes[group[0]!]!.accountId));
    let result: { modified: number };
    try {
      result = await this.accountWrites.updateEach(
        groups.map((group, index) => {
          const members = group.map((writeIndex) => writes[writeIndex]!);
          const { accountId, requiresAvailable } = members[0]!;
          return {
            filter: fieldsDocument([
              ['_id', accountId],
              ...members.map((write): [string, unknown] => [markerPath(write.markerKey), { $exists: false }]),
              ...(requiresAvailable === undefined ? [] : [['available', { $gte: requiresAvailable }] as [string, unknown]]),
            ]),
            update: {
              $inc: members.length === 1 ? members[0]!.change : addChanges(members.map((write) => write.change)),
              $set: fieldsDocument(members.map((write) => [markerPath(write.markerKey), true])),
              ...(riders[index]!.length === 0 ? {} : { $unset: unsetMarkers(riders[index]!) }),
            },
          };
        }),
      );
    } catch (error) {
      groups.forEach((group, index) => this.releaseLater(writes[group[0]!]!.accountId, riders[index]!));
      throw error;
    }
    if (result.modified === groups.length) return writes.map(() => 'applied');
    // Some updates did not match: refused, already applied (recovery repeating a phase) or a
    // missing account. The markers tell which; riders of updates that did not run wait for the next.
    const accounts = await this.accountCollection
      .find({ _id: { $in: [...new Set(writes.map((write) => write.accountId))] } }, { projection: { markers: 1 } })
      .toArray();
    const markers = new Map(accounts.map((account) => [account._id, account.markers ?? {}]));
    groups.forEach((group, index) => {
      const accountId = writes[group[0]!]!.accountId;
      const present = markers.get(accountId);
      if (present !== undefined)
        this.releaseLater(
          accountId,
          riders[index]!.filter((key) => present[key] === true),
        );
    });
    const outcomes = writes.map((write): EffectOutcome | undefined =>
      markers.get(write.accountId)?.[write.markerKey] === true ? 'applied' : write.requiresAvailable === undefined ? undefined : 'insufficient',
    );
    // An unchecked change without its marker was either held back by another in its shared update
    // (one already applied) or its account is missing: alone, each finds out which.
    const unsettled = outcomes.flatMap((outcome, index) => (outcome === undefined ? [index] : []));
    if (unsettled.length > 0) {
      const retried = merge
        ? await this.writeEffects(
            unsettled.map((index) => writes[index]!),
            false,
          )
        : unsettled.map((): EffectOutcome => 'missing');
      unsettled.forEach((writeIndex, index) => (outcomes[writeIndex] = retried[index]));
    }
    return outcomes as EffectOutcome[];
  }

  /** Takes the markers waiting to be removed from an account. */
  private takeReleasable(accountId: string): string[] {
    const keys = this.releasable.get(accountId);
    if (keys === undefined) return [];
    this.releasable.delete(accountId);
    return [...keys];
  }

  /** Marks markers as removable: the account's next update removes them, or `releaseWaiting` does. */
  private releaseLater(accountId: string, keys: string[]): void {
    if (keys.length === 0) return;
    const waiting = this.releasable.get(accountId);
    if (waiting === undefined) this.releasable.set(accountId, new Set(keys));
    else for (const key of keys) waiting.add(key);
    this.releaseTimer ??= setTimeout(() => {
      this.releaseTimer = undefined;
      this.releaseWaiting().catch((error: unknown) => this.logger.warn({ err: error }, 'removing phase markers failed; retrying later'));
    }, this.releaseDelayMs).unref();
  }

  /** Removes every marker still waiting for its account's next update, one update per account. */
  private async releaseWaiting(): Promise<void> {
    clearTimeout(this.releaseTimer);
    this.releaseTimer = undefined;
    const taken = [...this.releasable.keys()].map((accountId) => [accountId, this.takeReleasable(accountId)] as const);
    if (taken.length === 0) return;
    try {
      await this.accountWrites.updateEach<AccountDocument>(
        taken.map(([accountId, keys]) => ({ filter: { _id: accountId }, update: { $unset: unsetMarkers(keys) } })),
      );
    } catch (error) {
      for (const [accountId, keys] of taken) this.releaseLater(accountId, keys);
      throw error;
    }
  }

  private async updateTransfers(updates: SingleUpdate<TransferDocument>[]): Promise<('matched' | 'unknown')[]> {
    const result = await this.transferWrites.updateEach<TransferDocument>(updates);
    const outcome = result.matched === updates.length ? 'matched' : 'unknown';
    return updates.map(() => outcome);
  }

  async init(): Promise<void> {
    await Promise.all([this.accounts.init(), this.transfers.init()]);
    await this.moveInflightLists();
  }

  /**
   * Accounts written before markers were fields kept them in an `inflight` list. They move over
   * before anything runs, so recovery repeating a phase sees the marker and does not apply it twice.
   */
  private async moveInflightLists(): Promise<void> {
    const legacy = this.accountCollection as unknown as mongo.Collection<{ _id: string; inflight: string[] }>;
    for (const account of await legacy.find({ inflight: { $exists: true } }, { projection: { inflight: 1 } }).toArray()) {
      const set = fieldsDocument(account.inflight.map((marker) => [markerPath(markerKey(marker)), true]));
      await legacy.updateOne(
        { _id: account._id, inflight: account.inflight },
        { ...(account.inflight.length === 0 ? {} : { $set: set }), $unset: { inflight: '' } },
      );
    }
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
            createdAt: new Date(),
          },
        },
        { upsert: true, new: true },
      )
      .lean();
    if (account === null) throw new Error(`account ${id} could not be opened`);
    this.knownAccounts.set(id, account.mayGoNegative);
    return account;
  }

  /** Opens an account unless this process has seen it, and tells whether it may go negative. */
  private async ensureAccount(owner: AccountOwner, asset: Asset): Promise<{ id: string; mayGoNegative: boolean }> {
    const id = accountId(owner, asset);
    const known = this.knownAccounts.get(id);
    if (known !== undefined) return { id, mayGoNegative: known };
    const account = await this.openAccount(owner, asset);
    return { id, mayGoNegative: account.mayGoNegative };
  }

  async findAccount(id: string): Promise<AccountDocument | null> {
    return this.accounts.findById(id).lean();
  }

  /**
   * Several accounts, keyed by id (missing ones absent), without their in-flight markers: what a
   * balance needs. Reads that arrive together share one query (a read still starts after it was
   * asked for, so it sees every transfer that finished before). The driver directly: balance
   * reads are the hottest path, and mongoose adds nothing here.
   */
  async findAccounts(ids: string[]): Promise<Map<string, AccountDocument>> {
    return this.balanceReads.submit(ids);
  }

  private async readAccounts(idLists: string[][]): Promise<Map<string, AccountDocument>[]> {
    const ids = [...new Set(idLists.flat())];
    const found = await this.accountCollection.find({ _id: { $in: ids } }, { batchSize: ids.length + 1, projection: { markers: 0 } }).toArray();
    const byId = new Map(found.map((account) => [account._id, account]));
    return idLists.map((list) => new Map(list.flatMap((id) => byId.get(id) ?? []).map((account) => [account._id, account])));
  }

  async findTransfer(id: string): Promise<TransferDocument | null> {
    return withDefaults(await this.transfers.findById(id, { outbox: 0 }).lean());
  }

  private async debitMayGoNegative(transfer: TransferDocument): Promise<boolean> {
    const known = this.knownAccounts.get(transfer.debitAccountId);
    if (known !== undefined) return known;
    const account = await this.findAccount(transfer.debitAccountId);
    return account?.mayGoNegative ?? false;
  }

  /**
   * Records a transfer (or, with `hold`, a pending transfer) once per id and applies it.
   * `earning` marks POINTS that a member earned (for leaderboards and tiers).
   */
  async transfer(
    command: TransferCommand,
    options: { hold?: HoldOptions; earnerUserId?: string; earnedPoints?: number; reverses?: string } = {},
  ): Promise<TransferDocument> {
    const [debit, credit] = await Promise.all([this.ensureAccount(command.debit, command.asset), this.ensureAccount(command.credit, command.asset)]);
    const pending = options.hold !== undefined;
    const fingerprint = transferFingerprint(command) + (pending ? ':hold' : '');
    const earnerUserId =
      options.earnerUserId ??
      (command.credit.kind === 'member' && command.asset === 'POINTS' && earningReasons.includes(command.reason) ? command.credit.id : '');
    const document: TransferDocument = {
      _id: command.transferId,
      debitAccountId: debit.id,
      creditAccountId: credit.id,
      asset: command.asset,
      amount: command.amount,
      heldAmount: pending ? command.amount : 0,
      pending,
      reason: command.reason,
      reference: command.reference,
      communityId: command.credit.kind === 'member' ? command.credit.communityId : command.debit.communityId,
      earnerUserId,
      earnedPoints: options.earnedPoints ?? (earnerUserId === '' ? 0 : command.amount),
      state: 'applying',
      rejection: null,
      fingerprint,
      expiresAt: options.hold?.expiresAt ?? null,
      leaseUntil: new Date(Date.now() + this.leaseMs),
      createdAt: new Date(),
      postedAt: null,
      resolvedAt: null,
      reverses: options.reverses ?? null,
      reversedBy: null,
      outbox: [],
    };
    const inserted = await this.transferInserts.submit(storedForm(document));
    if (inserted === 'duplicate') return this.replay(command.transferId, fingerprint);
    if (inserted === 'failed') throw new Error(`transfer ${command.transferId} could not be stored`);
    return this.runPhase(document, 'apply', debit.mayGoNegative);
  }

  /** The answer for an id seen before: the first result, or an error if the content differs. */
  private async replay(transferId: string, fingerprint: string): Promise<TransferDocument> {
    for (let attempt = 0; attempt < 250; attempt += 1) {
      const existing = await this.findTransfer(transferId);
      if (existing === null) throw new Error(`transfer ${transferId} vanished`);
      if (existing.fingerprint !== fingerprint) {
        throw new DomainError('conflict', 'transfer_id_reused', 'That transfer id was already used for a different transfer.');
      }
      if (existing.state === 'rejected') throw insufficientBalance();
      if (existing.state !== 'applying') return existing;
      const leased = await this.acquireLease(transferId, 'applying');
      if (leased !== null) return this.runPhase(leased, 'apply', await this.debitMayGoNegative(leased));
      // Another request holds the lease and is applying it now: wait for its outcome.
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new DomainError('unavailable', 'transfer_in_progress', 'The transfer is still being applied; retry with the same id.');
  }

  private async acquireLease(transferId: string, state: TransferState): Promise<TransferDocument | null> {
    const now = new Date();
    return withDefaults(
      await this.transfers
        .findOneAndUpdate(
          { _id: transferId, state, leaseUntil: { $lt: now } },
          { $set: { leaseUntil: new Date(now.getTime() + this.leaseMs) } },
          { new: true, projection: { outbox: 0 } },
        )
        .lean(),
    );
  }

  /**
   * Applies each account's part of a phase once (see the class comment). Returns false if a
   * spend lacks the amount, which can only happen before anything was applied.
   */
  private async applyEffects(key: string, effects: AccountEffect[]): Promise<boolean> {
    const submit = (effect: AccountEffect) =>
      this.effectWrites.submit({ accountId: effect.accountId, markerKey: key, change: effect.change, requiresAvailable: effect.requiresAvailable });
    // A checked spend goes first and alone: if it is refused, nothing else may have been applied.
    // Unchecked effects cannot be refused, so they go out together (recovery completes any subset).
    for (const effect of effects.filter((candidate) => candidate.requiresAvailable !== undefined)) {
      const outcome = await submit(effect);
      if (outcome === 'insufficient') return false;
      if (outcome === 'missing') throw new Error(`account ${effect.accountId} is missing`);
    }
    const unchecked = effects.filter((candidate) => candidate.requiresAvailable === undefined);
    const outcomes = await Promise.all(unchecked.map(submit));
    const missing = unchecked.find((_, index) => outcomes[index] !== 'applied');
    if (missing !== undefined) throw new Error(`account ${missing.accountId} is missing`);
    return true;
  }

  private finalEvent(transfer: TransferDocument, phase: Phase, at: Date): Envelope {
    const facts = {
      transferId: transfer._id,
      asset: transfer.asset,
      debitAccountId: transfer.debitAccountId,
      creditAccountId: transfer.creditAccountId,
      reason: transfer.reason,
      reference: transfer.reference,
      communityId: transfer.communityId,
    };
    const common = { source: 'points', subject: transfer._id, occurredAt: at };
    if (phase === 'void') {
      return createEvent(holdVoided, {
        ...common,
        id: `${transfer._id}#voided`,
        data: { ...facts, heldAmount: transfer.heldAmount, voidedAt: at.toISOString(), expired: (transfer.expiresAt?.getTime() ?? Infinity) <= at.getTime() },
      });
    }
    if (phase === 'apply' && transfer.pending) {
      return createEvent(holdPlaced, {
        ...common,
        id: `${transfer._id}#held`,
        data: { ...facts, heldAmount: transfer.heldAmount, expiresAt: (transfer.expiresAt ?? at).toISOString() },
      });
    }
    return createEvent(transferPosted, { ...common, id: `${transfer._id}#posted`, data: { ...facts, amount: transfer.amount, postedAt: at.toISOString() } });
  }

  /** Runs one phase of a transfer whose running state this caller holds (see the class comment). */
  private async runPhase(transfer: TransferDocument, phase: Phase, debitMayGoNegative: boolean): Promise<TransferDocument> {
    const key = markerKey(phaseMarker(transfer._id, phase));
    this.runningMarkers.add(key);
    try {
      return await this.runPhaseSteps(transfer, phase, debitMayGoNegative, key);
    } finally {
      this.runningMarkers.delete(key);
    }
  }

  private async runPhaseSteps(transfer: TransferDocument, phase: Phase, debitMayGoNegative: boolean, key: string): Promise<TransferDocument> {
    const applied = await this.applyEffects(key, phaseEffects(phase, transfer, debitMayGoNegative));
    const { running } = phaseStates[phase];
    if (!applied) {
      // Only `apply` checks the balance, and it checks on the debit, its first update.
      await this.transferUpdates.submit({
        filter: { _id: transfer._id, state: running },
        update: { $set: { state: 'rejected', rejection: 'exceeds_credits', leaseUntil: null } },
      });
      throw insufficientBalance();
    }
    const now = new Date();
    const finalState: TransferState = phase === 'void' ? 'voided' : phase === 'apply' && transfer.pending ? 'pending' : 'posted';
    const stamps =
      finalState === 'posted' ? { postedAt: now, ...(transfer.pending ? { resolvedAt: now } : {}) } : finalState === 'voided' ? { resolvedAt: now } : {};
    const event = outboxEntry(transferPosted.topic, this.finalEvent(transfer, phase, now));
    const finished = await this.transferUpdates.submit({
      filter: { _id: transfer._id, state: running },
      update: { $set: { state: finalState, leaseUntil: null, ...stamps, ...this.outbox?.claimFields() }, $push: { outbox: event } },
    });
    // Only an update known to have matched stored this very event; otherwise the relay reads the
    // transfer's outbox for what it holds.
    if (finished === 'matched') this.outbox?.written('transfers', transfer._id, [event]);
    else this.outbox?.nudge('transfers', transfer._id);
    // The transfer has left its running state, so its markers may go; removing them does not
    // change the answer, so it is not waited for, and a sweep removes any a crash leaves behind.
    for (const accountId of [transfer.debitAccountId, transfer.creditAccountId]) this.releaseLater(accountId, [key]);
    return { ...transfer, state: finalState, leaseUntil: null, ...stamps };
  }

  /** Posts a hold for `amount` (at most the amount held; undefined for all of it), once. */
  async postHold(transferId: string, amount: number | undefined): Promise<TransferDocument> {
    const now = new Date();
    const hold = await this.findTransfer(transferId);
    if (hold === null) throw new DomainError('not_found', 'not_found', 'The hold was not found.');
    if (!hold.pending) throw new DomainError('business_rule', 'not_a_hold', 'That transfer is not a hold.');
    const postAmount = amount ?? hold.heldAmount;
    if (postAmount > hold.heldAmount) {
      throw new DomainError('invalid_argument', 'exceeds_held_amount', `At most ${hold.heldAmount} can be posted.`, [
        { path: 'amount', message: 'more than the amount held' },
      ]);
    }
    const claimed = withDefaults(
      await this.transfers
        .findOneAndUpdate(
          { _id: transferId, state: 'pending', expiresAt: { $gt: now } },
          { $set: { state: 'posting', amount: postAmount, leaseUntil: new Date(now.getTime() + this.leaseMs) } },
          { new: true, projection: { outbox: 0 } },
        )
        .lean(),
    );
    if (claimed !== null) return this.runPhase(claimed, 'post', await this.debitMayGoNegative(claimed));
    return this.settledHold(transferId, 'post', postAmount);
  }

  /** Voids a hold, once; the held amount returns to the payer. */
  async voidHold(transferId: string): Promise<TransferDocument> {
    const hold = await this.findTransfer(transferId);
    if (hold === null) throw new DomainError('not_found', 'not_found', 'The hold was not found.');
    if (!hold.pending) throw new DomainError('business_rule', 'not_a_hold', 'That transfer is not a hold.');
    const claimed = withDefaults(
      await this.transfers
        .findOneAndUpdate(
          { _id: transferId, state: 'pending' },
          { $set: { state: 'voiding', leaseUntil: new Date(Date.now() + this.leaseMs) } },
          { new: true, projection: { outbox: 0 } },
        )
        .lean(),
    );
    if (claimed !== null) return this.runPhase(claimed, 'void', await this.debitMayGoNegative(claimed));
    return this.settledHold(transferId, 'void', hold.heldAmount);
  }

  /**
   * The answer when a post or void did not win the hold: the same request again gets the same
   * result; a conflicting one is refused with the reason. An expired hold is voided on the spot.
   */
  private async settledHold(transferId: string, wanted: 'post' | 'void', postAmount: number): Promise<TransferDocument> {
    for (let attempt = 0; attempt < 250; attempt += 1) {
      const hold = await this.findTransfer(transferId);
      if (hold === null) throw new DomainError('not_found', 'not_found', 'The hold was not found.');
      switch (hold.state) {
        case 'pending':
          if (wanted === 'void') return this.voidHold(transferId);
          // Still pending but the post did not match: the hold has expired.
          await this.voidHold(transferId);
          throw new DomainError('conflict', 'hold_expired', 'The hold has expired and was voided.');
        case 'posted':
          if (wanted === 'post' && hold.amount === postAmount) return hold;
          throw new DomainError('conflict', 'hold_already_posted', 'The hold was already posted.');
        case 'voided':
          if (wanted === 'void') return hold;
          throw new DomainError(
            'conflict',
            (hold.expiresAt?.getTime() ?? Infinity) <= (hold.resolvedAt?.getTime() ?? 0) ? 'hold_expired' : 'hold_already_voided',
            'The hold was already voided.',
          );
        case 'posting':
        case 'voiding':
        case 'applying': {
          // Someone is resolving it right now (or recovery will): wait for the outcome.
          await new Promise((resolve) => setTimeout(resolve, 20));
          break;
        }
        case 'rejected':
          throw new DomainError('conflict', 'hold_rejected', 'The hold was refused when it was placed.');
      }
    }
    throw new DomainError('unavailable', 'hold_in_progress', 'The hold is being resolved; retry.');
  }

  /**
   * Finishes what dead processes left half-done, and voids expired holds. Safe to run at any
   * time and from several processes at once.
   */
  async recover(limit = 1000): Promise<{ completed: number; rejected: number; expired: number; released: number }> {
    let completed = 0;
    let rejected = 0;
    let expired = 0;
    const now = new Date();
    // One search finds both kinds of work: transfers whose runner's lease ran out, and holds
    // past their expiry. Locally (no secondary indexes) each search scans the collection.
    const runningStates: TransferState[] = ['applying', 'posting', 'voiding'];
    const candidates = await this.transfers
      .find(
        {
          $or: [
            { state: { $in: runningStates }, leaseUntil: { $lt: now } },
            { state: 'pending', expiresAt: { $lte: now } },
          ],
        },
        { _id: 1, state: 1 },
      )
      .limit(limit)
      .lean();
    const phaseOf: Partial<Record<TransferState, Phase>> = { applying: 'apply', posting: 'post', voiding: 'void' };
    for (const candidate of candidates) {
      const phase = phaseOf[candidate.state];
      if (phase !== undefined) {
        const leased = await this.acquireLease(candidate._id, candidate.state);
        if (leased === null) continue;
        try {
          await this.runPhase(leased, phase, await this.debitMayGoNegative(leased));
          completed += 1;
        } catch (error) {
          if (!(error instanceof DomainError)) throw error;
          rejected += 1;
        }
        continue;
      }
      const claimed = withDefaults(
        await this.transfers
          .findOneAndUpdate(
            { _id: candidate._id, state: 'pending', expiresAt: { $lte: now } },
            { $set: { state: 'voiding', leaseUntil: new Date(Date.now() + this.leaseMs) } },
            { new: true, projection: { outbox: 0 } },
          )
          .lean(),
      );
      if (claimed === null) continue;
      await this.runPhase(claimed, 'void', await this.debitMayGoNegative(claimed));
      expired += 1;
    }
    const released = Date.now() - this.lastMarkerSweepAt >= this.markerSweepIntervalMs ? await this.sweepMarkers(limit) : 0;
    if (completed + rejected + released > 0) this.logger.warn({ completed, rejected, released }, 'ledger recovery finished interrupted transfers');
    if (expired > 0) this.logger.info({ expired }, 'expired holds voided');
    return { completed, rejected, expired, released };
  }

  /**
   * Removes markers whose transfer has left the phase's running state but which no process is
   * going to remove: a process died after finishing the transfer. They do no harm meanwhile, so
   * this runs at start and then rarely (every `markerSweepIntervalMs`): locally, finding them
   * scans every account. Markers of phases this process runs or will remove are left alone.
   */
  private async sweepMarkers(limit: number): Promise<number> {
    this.lastMarkerSweepAt = Date.now();
    let released = 0;
    const accounts = await this.accountCollection
      .find(holdsMarkers, { projection: { markers: 1 } })
      .limit(limit)
      .toArray();
    for (const account of accounts) {
      const waiting = this.releasable.get(account._id);
      const finished: string[] = [];
      for (const key of Object.keys(account.markers ?? {})) {
        if (this.runningMarkers.has(key) || waiting?.has(key)) continue;
        const marker = markerOfKey(key);
        const separator = marker.lastIndexOf('#');
        const phase = marker.slice(separator + 1) as Phase;
        const transfer = await this.findTransfer(marker.slice(0, separator));
        if (transfer !== null && transfer.state !== phaseStates[phase].running) finished.push(key);
      }
      if (finished.length === 0) continue;
      await this.accountCollection.updateOne({ _id: account._id }, { $unset: unsetMarkers(finished) });
      released += finished.length;
    }
    return released;
  }

  /** Removes the markers still waiting for their account's next update; for an orderly stop. */
  async stop(): Promise<void> {
    await this.releaseWaiting();
  }
}
