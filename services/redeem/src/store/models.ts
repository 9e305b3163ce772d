import type { Connection } from '@lovepoints/mongo';
import { outboxSchemaFields } from '@lovepoints/outbox';
import { Schema } from 'mongoose';
import type { LimitPeriod, OrderKind, OrderPhase, ReleaseOutcome } from '../domain/order-rules';

/**
 * Documents of the redeem database. Every hot lookup goes by `_id` or a unique key (the local
 * MongoDB-protocol server scans for anything else): orders by id and by pickup key, items and
 * allowances by id.
 */
export interface ShopDocument {
  _id: string;
  communityId: string;
  name: string;
  ownerUserId: string;
  status: 'open' | 'closed';
  createdByUserId: string;
  createdAt: Date;
  /** Settlements are consecutive: the next one starts here and gets sequence number + 1. */
  settledUntil: Date | null;
  settlementSequence: number;
}

export interface ItemDocument {
  _id: string;
  shopId: string;
  communityId: string;
  name: string;
  description: string;
  imageUrl: string;
  pricePoints: number;
  /** Units that can be ordered now; taken by a conditional decrement that never goes below 0. */
  stock: number;
  perPersonLimit: number;
  limitPeriod: LimitPeriod;
  active: boolean;
  activeFrom: Date | null;
  activeUntil: Date | null;
  /** Ids of open orders holding stock of this item, so taking and giving back happen once each. */
  reservations: string[];
  createdAt: Date;
  updatedAt: Date;
}

export interface OrderDocument {
  _id: string;
  kind: OrderKind;
  communityId: string;
  shopId: string;
  itemId: string;
  itemName: string;
  userId: string;
  quantity: number;
  unitPricePoints: number;
  pricePoints: number;
  phase: OrderPhase;
  /** Where a `releasing` order ends. */
  releaseTo: ReleaseOutcome | null;
  failureCode: string;
  /** Until when the process running the current step owns it; recovery waits for it to pass. */
  leaseUntil: Date | null;
  /** The per-person allowance document this order counts in; '' when the item has no limit. */
  allowanceId: string;
  pickupNonce: number;
  /** Unique: a hash of shop and pickup code, by which the shop finds the order. */
  pickupKey: string;
  expiresAt: Date;
  /** The client's Idempotency-Key (a hash of it is in the id), to tell a replay from a misuse. */
  idempotencyKey: string;
  /** The shopkeeper's Idempotency-Key of the pickup, so a retried pickup is answered the same. */
  pickupIdempotencyKey: string;
  createdAt: Date;
  fulfilledAt: Date | null;
  closedAt: Date | null;
  settlementId: string | null;
}

/** How much of an item one resident took in one period, and by which orders. */
export interface AllowanceDocument {
  _id: string;
  count: number;
  orders: string[];
}

/** Wrong pickup codes one shop submitted in one window. */
export interface PickupFailureDocument {
  _id: string;
  count: number;
  windowEndsAt: Date;
}

export interface SettlementDocument {
  _id: string;
  shopId: string;
  communityId: string;
  sequence: number;
  from: Date;
  to: Date;
  phase: 'marking' | 'transferring' | 'settled';
  leaseUntil: Date | null;
  points: number;
  orders: number;
  transferId: string;
  settledByUserId: string;
  /** The organizer's Idempotency-Key, if one was sent: a retry gets this settlement back. */
  idempotencyKey: string;
  createdAt: Date;
  settledAt: Date | null;
}

export function createModels(connection: Connection) {
  const shopSchema = new Schema<ShopDocument>({
    _id: String,
    communityId: { type: String, required: true },
    name: { type: String, required: true },
    ownerUserId: { type: String, required: true, index: true },
    status: { type: String, required: true },
    createdByUserId: { type: String, required: true },
    createdAt: { type: Date, default: () => new Date() },
    settledUntil: { type: Date, default: null },
    settlementSequence: { type: Number, default: 0 },
  });
  shopSchema.index({ communityId: 1, name: 1 }, { unique: true });
  const itemSchema = new Schema<ItemDocument>({
    _id: String,
    shopId: { type: String, required: true, index: true },
    communityId: { type: String, required: true },
    name: { type: String, required: true },
    description: { type: String, default: '' },
    imageUrl: { type: String, default: '' },
    pricePoints: { type: Number, required: true },
    stock: { type: Number, required: true },
    perPersonLimit: { type: Number, default: 0 },
    limitPeriod: { type: String, default: 'month' },
    active: { type: Boolean, default: true },
    activeFrom: { type: Date, default: null },
    activeUntil: { type: Date, default: null },
    reservations: { type: [String], default: [] },
    createdAt: { type: Date, default: () => new Date() },
    updatedAt: { type: Date, default: () => new Date() },
  });
  const orderSchema = new Schema<OrderDocument>({
    _id: String,
    kind: { type: String, required: true },
    communityId: { type: String, required: true },
    shopId: { type: String, required: true },
    itemId: { type: String, required: true },
    itemName: { type: String, required: true },
    userId: { type: String, required: true },
    quantity: { type: Number, required: true },
    unitPricePoints: { type: Number, required: true },
    pricePoints: { type: Number, required: true },
    phase: { type: String, required: true },
    releaseTo: { type: String, default: null },
    failureCode: { type: String, default: '' },
    leaseUntil: { type: Date, default: null },
    allowanceId: { type: String, default: '' },
    pickupNonce: { type: Number, default: 0 },
    pickupKey: { type: String, required: true, unique: true },
    expiresAt: { type: Date, required: true },
    idempotencyKey: { type: String, default: '' },
    pickupIdempotencyKey: { type: String, default: '' },
    createdAt: { type: Date, default: () => new Date() },
    fulfilledAt: { type: Date, default: null },
    closedAt: { type: Date, default: null },
    settlementId: { type: String, default: null },
    ...outboxSchemaFields,
  });
  orderSchema.index({ userId: 1, createdAt: -1 });
  orderSchema.index({ phase: 1, leaseUntil: 1 });
  orderSchema.index({ phase: 1, expiresAt: 1 });
  orderSchema.index({ shopId: 1, phase: 1, fulfilledAt: 1 });
  const settlementSchema = new Schema<SettlementDocument>({
    _id: String,
    shopId: { type: String, required: true, index: true },
    communityId: { type: String, required: true },
    sequence: { type: Number, required: true },
    from: { type: Date, required: true },
    to: { type: Date, required: true },
    phase: { type: String, required: true },
    leaseUntil: { type: Date, default: null },
    points: { type: Number, default: 0 },
    orders: { type: Number, default: 0 },
    transferId: { type: String, required: true },
    settledByUserId: { type: String, required: true },
    idempotencyKey: { type: String, default: '' },
    createdAt: { type: Date, default: () => new Date() },
    settledAt: { type: Date, default: null },
  });
  return {
    shops: connection.model<ShopDocument>('Shop', shopSchema),
    items: connection.model<ItemDocument>('Item', itemSchema),
    orders: connection.model<OrderDocument>('Order', orderSchema),
    allowances: connection.model<AllowanceDocument>(
      'Allowance',
      new Schema<AllowanceDocument>({ _id: String, count: { type: Number, default: 0 }, orders: { type: [String], default: [] } }),
    ),
    pickupFailures: connection.model<PickupFailureDocument>(
      'PickupFailure',
      new Schema<PickupFailureDocument>({ _id: String, count: { type: Number, default: 0 }, windowEndsAt: { type: Date, required: true } }),
    ),
    settlements: connection.model<SettlementDocument>('Settlement', settlementSchema),
  };
}

export type RedeemModels = ReturnType<typeof createModels>;

/** Collections whose documents carry outbox events, for the relay. */
export const outboxCollections = ['orders'];
