import { createEvent, type EventDefinition } from '@lovepoints/events';
import { DomainError } from '@lovepoints/errors';
import { outboxEntry } from '@lovepoints/outbox';
import { randomUUID } from 'node:crypto';
import type { OrderDocument, OrderHold, OrderPhase, TimebankModels } from './models';

const withoutOutbox = { outbox: 0 } as const;

/** The facts every timebank.order.v1 event carries, from the order as it is after the change. */
function orderFacts(order: OrderDocument, at: Date) {
  return {
    orderId: order._id,
    communityId: order.communityId,
    requesterUserId: order.requesterUserId,
    beneficiaryUserId: order.beneficiaryUserId,
    volunteerUserId: order.volunteerUserId,
    category: order.category,
    status: order.status,
    at: at.toISOString(),
  };
}

/** The event a change writes, built from the order as it is after the change. */
export interface OrderEvent<Data> {
  definition: EventDefinition<Data>;
  data: (facts: ReturnType<typeof orderFacts>) => Data;
  at: Date;
}

export type OrderChange = Partial<Omit<OrderDocument, '_id' | 'revision' | 'phase' | 'requestKeys'>>;

/**
 * Writes to service orders. Every change of state is one conditional single-document update that
 * also bumps `revision` and stores the change's event in the order's outbox, so a state is never
 * saved without its event. Event ids are `<order id>#<revision>`: a step repeated by recovery
 * writes the same id, and consumers dedupe by it.
 */
export class OrderRepository {
  constructor(
    private readonly models: TimebankModels,
    private readonly leaseMs: number,
    /** Hears of each order that just stored an event, so the relay publishes it without searching. */
    private readonly afterEventsWritten: (orderId: string) => void,
  ) {}

  async find(orderId: string): Promise<OrderDocument | null> {
    return this.models.orders.findById(orderId, withoutOutbox).lean();
  }

  /**
   * Applies `change` if the order is still at the revision read and matches `condition`, with the
   * event built from the changed order. Returns null when someone changed the order first.
   */
  async commit<Data>(
    order: OrderDocument,
    condition: Record<string, unknown>,
    change: OrderChange & { phase?: null },
    event: OrderEvent<Data> | undefined,
    extra: { requestKey?: string; push?: Record<string, unknown> } = {},
  ): Promise<OrderDocument | null> {
    const revision = order.revision + 1;
    const changed = { ...order, ...change };
    const push: Record<string, unknown> = { ...extra.push };
    if (event !== undefined) {
      const envelope = createEvent(event.definition, {
        id: `${order._id}#${revision}`,
        source: 'timebank',
        subject: order._id,
        occurredAt: event.at,
        data: event.data(orderFacts(changed, event.at)),
      });
      push.outbox = outboxEntry(event.definition.topic, envelope);
    }
    if (extra.requestKey !== undefined && extra.requestKey !== '') push.requestKeys = extra.requestKey;
    const updated = await this.models.orders
      .findOneAndUpdate(
        { _id: order._id, revision: order.revision, ...condition },
        { $set: { ...change, revision }, ...(Object.keys(push).length > 0 ? { $push: push } : {}) },
        { new: true, projection: withoutOutbox },
      )
      .lean();
    if (updated !== null && event !== undefined) this.afterEventsWritten(order._id);
    return updated;
  }

  /** Starts a step that moves minutes: only one caller wins an order with no step running. */
  async claim(orderId: string, condition: Record<string, unknown>, phase: Omit<OrderPhase, 'token' | 'leaseUntil'>): Promise<OrderDocument | null> {
    return this.models.orders
      .findOneAndUpdate(
        { _id: orderId, phase: null, ...condition },
        { $set: { phase: { ...phase, token: randomUUID(), leaseUntil: new Date(Date.now() + this.leaseMs) } } },
        { new: true, projection: withoutOutbox },
      )
      .lean();
  }

  /** Takes over a step whose runner's lease ran out (the runner died or stalled). */
  async takeOver(order: OrderDocument): Promise<OrderDocument | null> {
    if (order.phase === null) return null;
    return this.models.orders
      .findOneAndUpdate(
        { _id: order._id, 'phase.token': order.phase.token, 'phase.leaseUntil': { $lt: new Date() } },
        { $set: { 'phase.token': randomUUID(), 'phase.leaseUntil': new Date(Date.now() + this.leaseMs) } },
        { new: true, projection: withoutOutbox },
      )
      .lean();
  }

  async withExpiredLease(limit: number): Promise<OrderDocument[]> {
    return this.models.orders
      .find({ 'phase.leaseUntil': { $lt: new Date() } }, withoutOutbox)
      .limit(limit)
      .lean();
  }

  /**
   * Records a hold before the ledger is asked for it, so that a runner dying in between leaves
   * its id behind for recovery. Fails if the step was taken over, or the position is taken.
   */
  async recordHold(order: OrderDocument, hold: OrderHold): Promise<void> {
    const index = order.holds.length;
    const recorded = await this.models.orders.updateOne(
      { _id: order._id, 'phase.token': order.phase?.token, [`holds.${index}`]: { $exists: false } },
      { $push: { holds: hold } },
    );
    if (recorded.modifiedCount !== 1) throw stepTakenOver();
    order.holds.push(hold);
  }
}

export function stepTakenOver(): DomainError {
  return new DomainError('unavailable', 'step_in_progress', 'The order is being updated by another request; retry in a moment.');
}
