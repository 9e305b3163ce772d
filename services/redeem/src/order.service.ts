import { createEvent, type EventDefinition, redemptionCancelled, redemptionExpired, redemptionFulfilled, redemptionPlaced } from '@lovepoints/events';
import { conflict, DomainError, notFound, refused } from '@lovepoints/errors';
import { type Caller, hasRole, requireCaller } from '@lovepoints/grpc';
import type { Logger } from '@lovepoints/logging';
import { isDuplicateKeyError } from '@lovepoints/mongo';
import { outboxEntry } from '@lovepoints/outbox';
import type { Model } from 'mongoose';
import { randomUUID } from 'node:crypto';
import {
  counterSaleOrderId,
  issueMemberCode,
  type MemberCodeSettings,
  normalizePickupCode,
  pickupCode,
  pickupKey,
  pickupQrPayload,
  verifyMemberCode,
} from './domain/codes';
import { idempotentOrderId, limitPeriodKey, type OrderKind, type ReleaseOutcome, saleVerdict } from './domain/order-rules';
import { isShopOwner, unknownItem } from './domain/shop-access';
import type { RedeemLedger } from './ledger.client';
import type { ShopService } from './shop.service';
import type { ItemDocument, OrderDocument, RedeemModels, ShopDocument } from './store/models';

export interface OrderSettings {
  pickupDeadlineMs: number;
  holdMarginMs: number;
  leaseMs: number;
  codeSecret: string;
  memberCodeLifetimeSeconds: number;
  pickupFailuresMax: number;
  pickupFailureWindowMs: number;
  timeZoneOffsetMinutes: number;
}

/** Why an order was refused, as the error its resident gets (again, on a replay of the same key). */
const failureErrors: Record<string, () => DomainError> = {
  out_of_stock: () => conflict('out_of_stock', 'The item is out of stock.'),
  per_person_limit_reached: () => refused('per_person_limit_reached', 'You have reached the per-person limit for this item in this period.'),
  insufficient_balance: () => conflict('insufficient_balance', 'You do not have enough love points for this order.'),
  interrupted: () => new DomainError('unavailable', 'order_interrupted', 'The order was interrupted and undone; nothing was taken. Try again.'),
};

function failureError(code: string): DomainError {
  return (failureErrors[code] ?? (() => refused(code, `The order was refused: ${code.replaceAll('_', ' ')}.`)))();
}

const interrupted = () =>
  new DomainError(
    'unavailable',
    'order_interrupted',
    'The order could not be completed now; it will be finished or undone shortly. Retry with the same Idempotency-Key.',
  );

/** Creates a document with defaults unless it exists; a concurrent creation is as good. */
async function ensureDocument<Document>(model: Model<Document>, id: string, defaults: Record<string, unknown>): Promise<void> {
  try {
    await model.updateOne({ _id: id }, { $setOnInsert: defaults }, { upsert: true });
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
  }
}

/** An opaque keyset cursor (creation time and id) for the resident's own list, newest first. */
function encodeCursor(order: { createdAt: Date; _id: string }): string {
  return Buffer.from(`${order.createdAt.getTime()}|${order._id}`).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } | undefined {
  if (cursor === '') return undefined;
  const [time = '', id = ''] = Buffer.from(cursor, 'base64url').toString().split('|');
  if (!/^\d{1,15}$/.test(time) || id === '') {
    throw new DomainError('invalid_argument', 'invalid_cursor', 'The cursor is not one this service issued.', [{ path: 'cursor', message: 'unknown cursor' }]);
  }
  return { createdAt: new Date(Number(time)), id };
}

const source = 'redeem';
const withoutOutbox = { outbox: 0 } as const;

/**
 * Redemption orders and counter sales, crash-safe without transactions (see domain/order-rules
 * for the phases). Stock is taken by a conditional decrement that records the order on the item,
 * the per-person allowance by a conditional increment that records it on the allowance, and the
 * points by a ledger hold whose id derives from the order: each step is a no-op when repeated and
 * can be undone exactly once. Whoever holds an order's lease runs its steps; when a lease runs out,
 * recovery completes what can be completed (a pickup whose hold is being posted) and undoes the
 * rest (an order still reserving). Events go through the outbox in the same update as the phase.
 */
export class OrderService {
  constructor(
    private readonly models: RedeemModels,
    private readonly shops: ShopService,
    private readonly ledger: RedeemLedger,
    private readonly settings: OrderSettings,
    private readonly logger: Logger,
    /** Hears of each order that just stored an event, so the relay publishes it without searching. */
    private readonly afterEventsWritten: (orderId: string) => void,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private memberCodeSettings(): MemberCodeSettings {
    return { secret: this.settings.codeSecret, lifetimeSeconds: this.settings.memberCodeLifetimeSeconds };
  }

  private lease(): Date {
    return new Date(Date.now() + this.settings.leaseMs);
  }

  /** The resident's view; `withCode` only for the resident, and only while the code is usable. */
  view(order: OrderDocument, withCode: boolean) {
    const code = withCode && order.phase === 'pending_pickup' ? pickupCode(this.settings.codeSecret, order._id, order.pickupNonce) : '';
    return {
      id: order._id,
      kind: order.kind,
      communityId: order.communityId,
      shopId: order.shopId,
      itemId: order.itemId,
      itemName: order.itemName,
      userId: order.userId,
      quantity: order.quantity,
      unitPricePoints: order.unitPricePoints,
      pricePoints: order.pricePoints,
      status: order.phase,
      pickupCode: code,
      qrPayload: code === '' ? '' : pickupQrPayload(order.shopId, code),
      expiresAt: order.expiresAt.toISOString(),
      createdAt: order.createdAt.toISOString(),
      fulfilledAt: order.fulfilledAt?.toISOString() ?? '',
      closedAt: order.closedAt?.toISOString() ?? '',
      failureCode: order.failureCode,
    };
  }

  private event(order: OrderDocument, definition: EventDefinition<unknown>, name: string, timeField: string, at: Date, extra: Record<string, unknown> = {}) {
    const event = createEvent(definition, {
      id: `redemption-${name}:${order._id}`,
      source,
      subject: order._id,
      occurredAt: at,
      data: {
        redemptionId: order._id,
        kind: order.kind,
        communityId: order.communityId,
        shopId: order.shopId,
        itemId: order.itemId,
        userId: order.userId,
        quantity: order.quantity,
        pricePoints: order.pricePoints,
        [timeField]: at.toISOString(),
        ...extra,
      },
    });
    return outboxEntry(definition.topic, event);
  }

  /** An item the caller's community can buy now, with its shop; anything else is a clear refusal. */
  private async itemForSale(communityId: string, itemId: string): Promise<{ item: ItemDocument; shop: ShopDocument }> {
    const item = await this.models.items.findById(itemId, { reservations: 0 }).lean();
    if (item === null || item.communityId !== communityId) throw unknownItem();
    const shop = await this.models.shops.findById(item.shopId).lean();
    if (shop === null) throw unknownItem();
    if (shop.status !== 'open') throw refused('shop_closed', 'The shop is closed.');
    const verdict = saleVerdict(item, this.now());
    if (verdict === 'item_inactive') throw refused('item_inactive', 'The item is not offered at the moment.');
    if (verdict !== 'on_sale') throw refused(verdict, verdict === 'sale_ended' ? 'The item’s sale has ended.' : 'The item is not on sale yet.');
    return { item, shop };
  }

  async createRedemption(caller: Caller | undefined, input: { itemId: string; quantity: number; idempotencyKey: string }) {
    const known = requireCaller(caller);
    if (known.communityId === '') throw refused('no_community', 'Only members of a community can redeem points.');
    const orderId = input.idempotencyKey === '' ? randomUUID() : idempotentOrderId(known.userId, input.idempotencyKey);
    const replayed = await this.replay(orderId, { userId: known.userId, itemId: input.itemId, quantity: input.quantity }, 'idempotency_key_reused');
    if (replayed !== undefined) return this.view(replayed, true);
    const { item } = await this.itemForSale(known.communityId, input.itemId);
    const order = await this.place({ kind: 'order', orderId, item, userId: known.userId, quantity: input.quantity, idempotencyKey: input.idempotencyKey });
    return this.view(order, true);
  }

  /**
   * The first outcome of an order id seen before: the order (as it is now), or the refusal it got.
   * An order still being placed by a concurrent request is waited for.
   */
  private async replay(orderId: string, content: { userId: string; itemId: string; quantity: number }, misuseCode: string) {
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const existing = await this.models.orders.findById(orderId, withoutOutbox).lean();
      if (existing === null) return undefined;
      if (existing.userId !== content.userId || existing.itemId !== content.itemId || existing.quantity !== content.quantity) {
        throw conflict(misuseCode, 'That key was already used for a different order.');
      }
      if (existing.phase === 'failed') throw failureError(existing.failureCode);
      if (existing.phase !== 'reserving') return existing;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw interrupted();
  }

  /** Records the order, then reserves stock, allowance and points (see the class comment). */
  private async place(input: { kind: OrderKind; orderId: string; item: ItemDocument; userId: string; quantity: number; idempotencyKey: string }) {
    const { item } = input;
    const now = this.now();
    const base = {
      _id: input.orderId,
      kind: input.kind,
      communityId: item.communityId,
      shopId: item.shopId,
      itemId: item._id,
      itemName: item.name,
      userId: input.userId,
      quantity: input.quantity,
      unitPricePoints: item.pricePoints,
      pricePoints: item.pricePoints * input.quantity,
      phase: 'reserving' as const,
      releaseTo: null,
      failureCode: '',
      allowanceId: item.perPersonLimit > 0 ? `${item._id}:${input.userId}:${limitPeriodKey(item.limitPeriod, now, this.settings.timeZoneOffsetMinutes)}` : '',
      expiresAt: new Date(now.getTime() + this.settings.pickupDeadlineMs),
      idempotencyKey: input.idempotencyKey,
      createdAt: now,
      fulfilledAt: null,
      closedAt: null,
      settlementId: null,
    };
    let order: OrderDocument | undefined;
    // A pickup code is unique per shop; in the rare case of a clash the nonce picks another.
    for (let pickupNonce = 0; order === undefined; pickupNonce += 1) {
      const code = pickupCode(this.settings.codeSecret, input.orderId, pickupNonce);
      try {
        const created = await this.models.orders.create({ ...base, pickupNonce, pickupKey: pickupKey(item.shopId, code), leaseUntil: this.lease() });
        order = created.toObject();
      } catch (error) {
        if (!isDuplicateKeyError(error) || pickupNonce >= 5) throw error;
        const replayed = await this.replay(input.orderId, { userId: input.userId, itemId: item._id, quantity: input.quantity }, 'idempotency_key_reused');
        if (replayed !== undefined) return replayed;
      }
    }
    return this.reserve(order, item.perPersonLimit);
  }

  private async reserve(order: OrderDocument, perPersonLimit: number): Promise<OrderDocument> {
    const stockTaken = await this.models.items.updateOne(
      { _id: order.itemId, stock: { $gte: order.quantity }, reservations: { $ne: order._id } },
      { $inc: { stock: -order.quantity }, $push: { reservations: order._id } },
    );
    if (stockTaken.modifiedCount === 0 && (await this.models.items.exists({ _id: order.itemId, reservations: order._id })) === null) {
      return this.fail(order, 'out_of_stock');
    }
    if (order.allowanceId !== '') {
      await ensureDocument(this.models.allowances, order.allowanceId, { count: 0, orders: [] });
      const allowed = await this.models.allowances.updateOne(
        { _id: order.allowanceId, count: { $lte: perPersonLimit - order.quantity }, orders: { $ne: order._id } },
        { $inc: { count: order.quantity }, $push: { orders: order._id } },
      );
      if (allowed.modifiedCount === 0 && (await this.models.allowances.exists({ _id: order.allowanceId, orders: order._id })) === null) {
        return this.fail(order, 'per_person_limit_reached');
      }
    }
    try {
      await this.ledger.hold(order, this.settings.pickupDeadlineMs + this.settings.holdMarginMs);
    } catch (error) {
      // A definite refusal is undone now. Anything else (a timeout, the ledger down) leaves the
      // order to recovery once its lease runs out, when a late hold has either landed or never will.
      if (error instanceof DomainError && error.kind !== 'unavailable' && error.kind !== 'internal') return this.fail(order, error.code);
      throw interrupted();
    }
    const next = order.kind === 'order' ? 'pending_pickup' : 'fulfilling';
    const now = this.now();
    const advanced = await this.models.orders
      .findOneAndUpdate(
        { _id: order._id, phase: 'reserving' },
        {
          $set: { phase: next, leaseUntil: next === 'fulfilling' ? this.lease() : null },
          ...(next === 'pending_pickup'
            ? { $push: { outbox: this.event(order, redemptionPlaced, 'placed', 'placedAt', now, { expiresAt: order.expiresAt.toISOString() }) } }
            : {}),
        },
        { new: true, projection: withoutOutbox },
      )
      .lean();
    if (advanced === null) {
      // Recovery took the order over (this process was slower than the lease): it undoes the
      // order, and so does this process, in case it took something after recovery looked.
      await this.releaseResources(order);
      throw interrupted();
    }
    if (next === 'pending_pickup') this.afterEventsWritten(order._id);
    return next === 'fulfilling' ? this.fulfil(advanced) : advanced;
  }

  /** Refuses an order that is still reserving: gives back what it took, then throws why. */
  private async fail(order: OrderDocument, failureCode: string): Promise<never> {
    const claimed = await this.models.orders
      .findOneAndUpdate(
        { _id: order._id, phase: 'reserving' },
        { $set: { phase: 'releasing', releaseTo: 'failed', failureCode, leaseUntil: this.lease() } },
        { new: true, projection: withoutOutbox },
      )
      .lean();
    if (claimed !== null) await this.release(claimed);
    else await this.releaseResources(order);
    throw failureError(failureCode);
  }

  /** Gives back the points hold, the allowance and the stock an order took; each at most once. */
  private async releaseResources(order: OrderDocument): Promise<void> {
    await this.ledger.void(order._id);
    if (order.allowanceId !== '') {
      await this.models.allowances.updateOne({ _id: order.allowanceId, orders: order._id }, { $inc: { count: -order.quantity }, $pull: { orders: order._id } });
    }
    await this.models.items.updateOne({ _id: order.itemId, reservations: order._id }, { $inc: { stock: order.quantity }, $pull: { reservations: order._id } });
  }

  /** Finishes a `releasing` order whose lease this process holds. */
  private async release(order: OrderDocument): Promise<OrderDocument> {
    await this.releaseResources(order);
    const outcome: ReleaseOutcome = order.releaseTo ?? 'failed';
    const now = this.now();
    const event =
      outcome === 'cancelled'
        ? this.event(order, redemptionCancelled, 'cancelled', 'cancelledAt', now)
        : outcome === 'expired'
          ? this.event(order, redemptionExpired, 'expired', 'expiredAt', now)
          : undefined;
    const released = await this.models.orders
      .findOneAndUpdate(
        { _id: order._id, phase: 'releasing' },
        { $set: { phase: outcome, closedAt: now, leaseUntil: null }, ...(event ? { $push: { outbox: event } } : {}) },
        { new: true, projection: withoutOutbox },
      )
      .lean();
    if (event !== undefined) this.afterEventsWritten(order._id);
    return released ?? (await this.models.orders.findById(order._id, withoutOutbox).lean()) ?? order;
  }

  /** Moves an order into `releasing` from one of `phases` (by this process, with a fresh lease). */
  private async claimRelease(orderId: string, phases: string[], releaseTo: ReleaseOutcome, failureCode = '', extra: Record<string, unknown> = {}) {
    return this.models.orders
      .findOneAndUpdate(
        { _id: orderId, phase: { $in: phases }, ...extra },
        { $set: { phase: 'releasing', releaseTo, failureCode, leaseUntil: this.lease() } },
        { new: true, projection: withoutOutbox },
      )
      .lean();
  }

  /** Posts the hold of a `fulfilling` order whose lease this process holds, and closes it. */
  private async fulfil(order: OrderDocument): Promise<OrderDocument> {
    try {
      await this.ledger.post(order._id);
    } catch (error) {
      if (error instanceof DomainError && ['hold_expired', 'hold_already_voided', 'hold_rejected', 'not_found'].includes(error.code)) {
        // The ledger let the hold go (its deadline passed): the order expires instead.
        const claimed = await this.claimRelease(order._id, ['fulfilling'], 'expired');
        if (claimed !== null) await this.release(claimed);
        throw conflict('pickup_code_expired', 'The order has expired; its points were returned.');
      }
      throw error instanceof DomainError && error.kind !== 'unavailable' ? error : interrupted();
    }
    // The units are sold: the order's mark leaves the item without giving the stock back.
    await this.models.items.updateOne({ _id: order.itemId, reservations: order._id }, { $pull: { reservations: order._id } });
    const now = this.now();
    const fulfilled = await this.models.orders
      .findOneAndUpdate(
        { _id: order._id, phase: 'fulfilling' },
        {
          $set: { phase: 'fulfilled', fulfilledAt: now, leaseUntil: null },
          $push: { outbox: this.event(order, redemptionFulfilled, 'fulfilled', 'fulfilledAt', now) },
        },
        { new: true, projection: withoutOutbox },
      )
      .lean();
    this.afterEventsWritten(order._id);
    return fulfilled ?? (await this.models.orders.findById(order._id, withoutOutbox).lean()) ?? order;
  }

  /** Who may see an order: its resident, its shop's owner and organizers of its community. */
  private async visibleOrder(caller: Caller, orderId: string): Promise<OrderDocument> {
    const order = await this.models.orders.findById(orderId, withoutOutbox).lean();
    if (order === null || order.communityId !== caller.communityId) throw notFound('The redemption');
    if (order.userId === caller.userId || hasRole(caller, 'organizer')) return order;
    const shop = await this.models.shops.findById(order.shopId).lean();
    if (shop !== null && isShopOwner(caller, shop)) return order;
    throw notFound('The redemption');
  }

  async getRedemption(caller: Caller | undefined, orderId: string) {
    const known = requireCaller(caller);
    const order = await this.visibleOrder(known, orderId);
    return this.view(order, order.userId === known.userId);
  }

  /** Cancels a pending order: the hold is voided and the stock restored. */
  async cancelRedemption(caller: Caller | undefined, orderId: string) {
    const known = requireCaller(caller);
    const order = await this.visibleOrder(known, orderId);
    const claimed = await this.claimRelease(order._id, ['pending_pickup'], 'cancelled');
    if (claimed !== null) return this.view(await this.release(claimed), false);
    const current = (await this.models.orders.findById(orderId, withoutOutbox).lean()) ?? order;
    switch (current.phase) {
      case 'cancelled':
      case 'releasing':
        if (current.releaseTo === 'cancelled') return this.view(current, false);
        throw conflict('order_closed', `The order is ${current.releaseTo ?? current.phase}.`);
      case 'fulfilling':
      case 'fulfilled':
        throw conflict('already_fulfilled', 'The goods were already handed over; the order cannot be cancelled.');
      case 'expired':
        throw conflict('order_expired', 'The order has expired; its points were already returned.');
      case 'reserving':
        throw conflict('order_in_progress', 'The order is still being placed; try again in a moment.');
      case 'failed':
      case 'pending_pickup':
        throw conflict('order_closed', `The order is ${current.phase}.`);
    }
  }

  async listRedemptions(caller: Caller | undefined, input: { status?: string | undefined; limit: number; cursor: string }) {
    const known = requireCaller(caller);
    const after = decodeCursor(input.cursor);
    const page = await this.models.orders
      .find(
        {
          userId: known.userId,
          ...(input.status ? { phase: input.status } : {}),
          ...(after ? { $or: [{ createdAt: { $lt: after.createdAt } }, { createdAt: after.createdAt, _id: { $lt: after.id } }] } : {}),
        },
        withoutOutbox,
      )
      .sort({ createdAt: -1, _id: -1 })
      .limit(input.limit + 1)
      .lean();
    const items = page.slice(0, input.limit);
    const last = items[items.length - 1];
    return { items: items.map((order) => this.view(order, true)), nextCursor: page.length > input.limit && last ? encodeCursor(last) : '' };
  }

  /** The shop's counter of wrong pickup codes for the current window. */
  private async pickupWindow(shopId: string): Promise<string> {
    const windowMs = this.settings.pickupFailureWindowMs;
    const windowStart = Math.floor(Date.now() / windowMs) * windowMs;
    const id = `${shopId}:${windowStart}`;
    await ensureDocument(this.models.pickupFailures, id, { count: 0, windowEndsAt: new Date(windowStart + windowMs) });
    return id;
  }

  private tooManyFailures(): DomainError {
    return new DomainError('rate_limited', 'too_many_pickup_failures', 'Too many wrong pickup codes at this shop; wait a few minutes and try again.');
  }

  /**
   * Counts a wrong code, or refuses with 429 when the window's allowance is used up. The count
   * only grows while below the limit (a conditional `$inc`), so however many wrong codes arrive
   * at once, on any gateway, at most the limit of them get an answer other than 429.
   */
  private async countPickupFailure(windowId: string): Promise<void> {
    const counted = await this.models.pickupFailures.updateOne({ _id: windowId, count: { $lt: this.settings.pickupFailuresMax } }, { $inc: { count: 1 } });
    if (counted.modifiedCount === 0) throw this.tooManyFailures();
  }

  /**
   * The shop's owner hands the goods over for a pickup code. While the shop has used up its
   * allowance of wrong codes every code is refused, the right ones too, or the 429s would tell
   * which guesses were right.
   */
  async confirmPickup(caller: Caller | undefined, shopId: string, input: { pickupCode: string; idempotencyKey: string }) {
    const shop = await this.shops.ownShop(caller, shopId, 'shop.sell');
    const windowId = await this.pickupWindow(shop._id);
    const order = await this.models.orders.findOne({ pickupKey: pickupKey(shop._id, normalizePickupCode(input.pickupCode)) }, withoutOutbox).lean();
    const replaying = order?.phase === 'fulfilled' && input.idempotencyKey !== '' && order.pickupIdempotencyKey === input.idempotencyKey;
    if (order?.phase !== 'pending_pickup' && !replaying) await this.countPickupFailure(windowId);
    else if (((await this.models.pickupFailures.findById(windowId).lean())?.count ?? 0) >= this.settings.pickupFailuresMax) throw this.tooManyFailures();
    if (order === null || order.kind !== 'order' || order.phase === 'reserving' || order.phase === 'failed') {
      throw new DomainError('not_found', 'pickup_code_unknown', 'No order of this shop has that pickup code.', [
        { path: 'pickupCode', message: 'unknown code' },
      ]);
    }
    if (replaying) return this.view(order, false);
    const now = this.now();
    if (order.phase === 'pending_pickup' && order.expiresAt.getTime() <= now.getTime()) {
      const claimed = await this.claimRelease(order._id, ['pending_pickup'], 'expired');
      if (claimed !== null) await this.release(claimed);
      throw conflict('pickup_code_expired', 'The order has expired; its points were returned.');
    }
    const claimed = await this.models.orders
      .findOneAndUpdate(
        { _id: order._id, phase: 'pending_pickup' },
        { $set: { phase: 'fulfilling', leaseUntil: this.lease(), pickupIdempotencyKey: input.idempotencyKey } },
        { new: true, projection: withoutOutbox },
      )
      .lean();
    if (claimed === null) {
      const current = (await this.models.orders.findById(order._id, withoutOutbox).lean()) ?? order;
      if (current.phase === 'fulfilled' || current.phase === 'fulfilling') throw conflict('pickup_code_used', 'That pickup code was already used.');
      if (current.phase === 'expired' || current.releaseTo === 'expired')
        throw conflict('pickup_code_expired', 'The order has expired; its points were returned.');
      throw conflict('order_cancelled', 'The order was cancelled.');
    }
    return this.view(await this.fulfil(claimed), false);
  }

  issueMemberCode(caller: Caller | undefined) {
    const known = requireCaller(caller);
    if (known.communityId === '') throw refused('no_community', 'Member codes are for members of a community.');
    const issued = issueMemberCode(this.memberCodeSettings(), { userId: known.userId, communityId: known.communityId }, this.now());
    return { code: issued.code, qrPayload: issued.qrPayload, expiresAt: issued.expiresAt.toISOString() };
  }

  /**
   * The shop's owner sells an item at the counter to the resident whose member code they scanned.
   * The sale's order id derives from the code, so one code pays for one sale at most.
   */
  async createCounterSale(caller: Caller | undefined, shopId: string, input: { memberCode: string; itemId: string; quantity: number }) {
    const shop = await this.shops.ownShop(caller, shopId, 'shop.sell');
    const verdict = verifyMemberCode(this.memberCodeSettings(), input.memberCode, this.now());
    if (verdict.verdict === 'expired') throw refused('member_code_expired', 'The member code has expired; ask the resident to show a fresh one.');
    if (verdict.verdict === 'malformed') throw refused('member_code_invalid', 'That is not a valid member code.');
    if (verdict.communityId !== shop.communityId) throw refused('member_of_another_community', 'The resident belongs to another community.');
    const orderId = counterSaleOrderId(input.memberCode);
    const replayed = await this.replay(orderId, { userId: verdict.userId, itemId: input.itemId, quantity: input.quantity }, 'member_code_used');
    if (replayed !== undefined) return this.view(replayed, false);
    const { item } = await this.itemForSale(shop.communityId, input.itemId);
    if (item.shopId !== shop._id) throw unknownItem();
    return this.view(await this.place({ kind: 'counter', orderId, item, userId: verdict.userId, quantity: input.quantity, idempotencyKey: '' }), false);
  }

  /**
   * Completes or undoes orders whose step outlived its lease (by real time), then expires orders
   * whose pickup deadline is before `asOf`. Safe to run at any time and from several processes.
   */
  async sweep(asOf: Date, limit = 1000): Promise<{ recovered: number; expired: number }> {
    let recovered = 0;
    const stale = await this.models.orders
      .find({ phase: { $in: ['reserving', 'fulfilling', 'releasing'] }, leaseUntil: { $lt: new Date() } }, { _id: 1, phase: 1 })
      .limit(limit)
      .lean();
    for (const candidate of stale) {
      try {
        if (await this.recoverOne(candidate._id, candidate.phase)) recovered += 1;
      } catch (error) {
        this.logger.warn({ err: error, orderId: candidate._id }, 'order recovery failed; will retry');
      }
    }
    let expired = 0;
    const overdue = await this.models.orders
      .find({ phase: 'pending_pickup', expiresAt: { $lte: asOf } }, { _id: 1 })
      .limit(limit)
      .lean();
    for (const candidate of overdue) {
      const claimed = await this.claimRelease(candidate._id, ['pending_pickup'], 'expired');
      if (claimed === null) continue;
      try {
        await this.release(claimed);
        expired += 1;
      } catch (error) {
        this.logger.warn({ err: error, orderId: candidate._id }, 'order expiry failed; recovery will finish it');
      }
    }
    await this.models.pickupFailures.deleteMany({ windowEndsAt: { $lt: new Date() } });
    if (recovered > 0) this.logger.warn({ recovered }, 'interrupted orders completed or undone');
    return { recovered, expired };
  }

  private async recoverOne(orderId: string, phase: string): Promise<boolean> {
    const now = new Date();
    if (phase === 'reserving') {
      // Still reserving after its lease: undo it; whatever was taken is given back.
      const claimed = await this.claimRelease(orderId, ['reserving'], 'failed', 'interrupted', { leaseUntil: { $lt: now } });
      if (claimed === null) return false;
      await this.release(claimed);
      return true;
    }
    const leased = await this.models.orders
      .findOneAndUpdate({ _id: orderId, phase, leaseUntil: { $lt: now } }, { $set: { leaseUntil: this.lease() } }, { new: true, projection: withoutOutbox })
      .lean();
    if (leased === null) return false;
    if (phase === 'releasing') await this.release(leased);
    else
      await this.fulfil(leased).catch((error: unknown) => {
        // An expired hold turns the order into an expired one inside fulfil; that is recovered.
        if (!(error instanceof DomainError && error.code === 'pickup_code_expired')) throw error;
      });
    return true;
  }
}
