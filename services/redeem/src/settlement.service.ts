import { conflict, DomainError, invalidArgument } from '@lovepoints/errors';
import { authorize, type Caller, requireCaller } from '@lovepoints/grpc';
import type { Logger } from '@lovepoints/logging';
import { insertUnique } from '@lovepoints/mongo';
import { ensureShopVisible } from './domain/shop-access';
import type { RedeemLedger } from './ledger.client';
import type { OrderDocument, RedeemModels, SettlementDocument, ShopDocument } from './store/models';

function recordView(settlement: SettlementDocument) {
  return {
    id: settlement._id,
    shopId: settlement.shopId,
    from: settlement.from.toISOString(),
    to: settlement.to.toISOString(),
    points: settlement.points,
    orders: settlement.orders,
    status: settlement.phase,
    transferId: settlement.transferId,
    settledAt: settlement.settledAt?.toISOString() ?? '',
    settledByUserId: settlement.settledByUserId,
  };
}

function sumPoints(orders: Pick<OrderDocument, 'pricePoints'>[]): number {
  return orders.reduce((total, order) => total + order.pricePoints, 0);
}

/**
 * What shops took and how the community reimburses them. A shop's history is cut into
 * consecutive settled periods: each settlement starts where the previous one ended, marks the
 * fulfilled orders not settled yet (so an order is settled exactly once, even one completed
 * late), records their sum, and moves that sum from the shop's account back to the community's
 * issuance account with the transfer id `settlement:<shop>:<sequence>`. Each step repeats
 * without effect, so a crash anywhere is finished by the next settle call or by recovery.
 */
export class SettlementService {
  constructor(
    private readonly models: RedeemModels,
    private readonly ledger: RedeemLedger,
    private readonly leaseMs: number,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private async visibleShop(caller: Caller, shopId: string): Promise<ShopDocument> {
    const shop = await this.models.shops.findById(shopId).lean();
    ensureShopVisible(caller, shop);
    return shop;
  }

  async getSettlement(caller: Caller | undefined, input: { shopId: string; from?: string | undefined; to?: string | undefined }) {
    const known = requireCaller(caller);
    const shop = await this.visibleShop(known, input.shopId);
    authorize(known, 'shop.settlement.read', { communityId: shop.communityId, ownerUserId: shop.ownerUserId, what: 'The shop' });
    const from = input.from === undefined ? shop.createdAt : new Date(input.from);
    const to = input.to === undefined ? this.now() : new Date(input.to);
    if (to.getTime() < from.getTime()) throw invalidArgument([{ path: 'to', message: 'must not be before from' }]);
    const [orders, unsettled, settlements, account] = await Promise.all([
      this.models.orders
        .find({ shopId: shop._id, phase: 'fulfilled', fulfilledAt: { $gte: from, $lt: to } }, { outbox: 0 })
        .sort({ fulfilledAt: 1 })
        .lean(),
      this.models.orders.find({ shopId: shop._id, phase: 'fulfilled', settlementId: null }, { pricePoints: 1 }).lean(),
      this.models.settlements.find({ shopId: shop._id }).sort({ sequence: -1 }).limit(1000).lean(),
      this.ledger.openShopAccount(shop),
    ]);
    const lines = new Map<string, { itemId: string; itemName: string; quantity: number; points: number; orders: number }>();
    for (const order of orders) {
      const line = lines.get(order.itemId) ?? { itemId: order.itemId, itemName: order.itemName, quantity: 0, points: 0, orders: 0 };
      line.quantity += order.quantity;
      line.points += order.pricePoints;
      line.orders += 1;
      lines.set(order.itemId, line);
    }
    return {
      shopId: shop._id,
      from: from.toISOString(),
      to: to.toISOString(),
      pointsReceived: sumPoints(orders),
      orders: orders.length,
      lines: [...lines.values()].sort((left, right) => left.itemName.localeCompare(right.itemName)),
      orderLines: orders.map((order) => ({
        redemptionId: order._id,
        kind: order.kind,
        itemId: order.itemId,
        itemName: order.itemName,
        quantity: order.quantity,
        points: order.pricePoints,
        fulfilledAt: order.fulfilledAt?.toISOString() ?? '',
        settlementId: order.settlementId ?? '',
      })),
      outstandingPoints: sumPoints(unsettled),
      ledgerBalancePoints: account.balancePosted,
      settlements: settlements.map(recordView),
    };
  }

  /** An organizer settles the shop's takings from the end of the last settlement up to `to`. */
  async settleShop(caller: Caller | undefined, input: { shopId: string; to?: string | undefined; idempotencyKey: string }) {
    const known = authorize(caller, 'shop.settle');
    let shop = await this.visibleShop(known, input.shopId);
    if (input.idempotencyKey !== '') {
      const replayed = await this.models.settlements.findOne({ shopId: shop._id, idempotencyKey: input.idempotencyKey }).lean();
      if (replayed !== null) return recordView(replayed.phase === 'settled' ? replayed : await this.complete(replayed));
    }
    const to = input.to === undefined ? this.now() : new Date(input.to);
    if (to.getTime() > this.now().getTime()) throw invalidArgument([{ path: 'to', message: 'must not be in the future' }]);
    // A settlement a crash left behind is finished first, so the next one starts after it.
    const previous = await this.models.settlements.findById(`${shop._id}:${shop.settlementSequence + 1}`).lean();
    if (previous !== null) {
      if (previous.phase !== 'settled' && (previous.leaseUntil?.getTime() ?? 0) > Date.now()) {
        throw conflict('settlement_in_progress', 'A settlement of this shop is in progress.');
      }
      await this.complete(previous);
      shop = await this.visibleShop(known, input.shopId);
    }
    const from = shop.settledUntil ?? shop.createdAt;
    if (to.getTime() <= from.getTime()) {
      throw new DomainError('invalid_argument', 'nothing_to_settle', `The shop is settled up to ${from.toISOString()}.`, [
        { path: 'to', message: 'must be after the end of the last settlement' },
      ]);
    }
    const sequence = shop.settlementSequence + 1;
    const id = `${shop._id}:${sequence}`;
    const settlement = await insertUnique(
      () =>
        this.models.settlements.create({
          _id: id,
          shopId: shop._id,
          communityId: shop.communityId,
          sequence,
          from,
          to,
          phase: 'marking',
          leaseUntil: new Date(Date.now() + this.leaseMs),
          transferId: `settlement:${shop._id}:${sequence}`,
          settledByUserId: known.userId,
          idempotencyKey: input.idempotencyKey,
        }),
      () => conflict('settlement_in_progress', 'Another settlement of this shop was started a moment ago.'),
    );
    return recordView(await this.complete(settlement.toObject()));
  }

  /** Runs the remaining steps of a settlement; each repeats without effect. */
  private async complete(settlement: SettlementDocument): Promise<SettlementDocument> {
    let current = settlement;
    if (current.phase === 'marking') {
      await this.models.orders.updateMany(
        { shopId: current.shopId, phase: 'fulfilled', settlementId: null, fulfilledAt: { $lt: current.to } },
        { $set: { settlementId: current._id } },
      );
      const marked = await this.models.orders.find({ settlementId: current._id }, { pricePoints: 1 }).lean();
      current =
        (await this.models.settlements
          .findOneAndUpdate(
            { _id: current._id, phase: 'marking' },
            { $set: { phase: 'transferring', points: sumPoints(marked), orders: marked.length } },
            { new: true },
          )
          .lean()) ?? current;
    }
    if (current.phase === 'transferring') {
      if (current.points > 0) await this.ledger.settle(current);
      current =
        (await this.models.settlements
          .findOneAndUpdate({ _id: current._id, phase: 'transferring' }, { $set: { phase: 'settled', settledAt: this.now(), leaseUntil: null } }, { new: true })
          .lean()) ?? current;
    }
    await this.models.shops.updateOne(
      { _id: current.shopId, settlementSequence: current.sequence - 1 },
      { $set: { settlementSequence: current.sequence, settledUntil: current.to } },
    );
    return current;
  }

  /** Finishes settlements whose lease ran out (a crashed settle call). */
  async recover(): Promise<number> {
    const stale = await this.models.settlements
      .find({ phase: { $in: ['marking', 'transferring'] }, leaseUntil: { $lt: new Date() } })
      .limit(100)
      .lean();
    let recovered = 0;
    for (const candidate of stale) {
      const leased = await this.models.settlements
        .findOneAndUpdate(
          { _id: candidate._id, phase: candidate.phase, leaseUntil: { $lt: new Date() } },
          { $set: { leaseUntil: new Date(Date.now() + this.leaseMs) } },
          { new: true },
        )
        .lean();
      if (leased === null) continue;
      try {
        await this.complete(leased);
        recovered += 1;
      } catch (error) {
        this.logger.warn({ err: error, settlementId: candidate._id }, 'settlement recovery failed; will retry');
      }
    }
    return recovered;
  }
}
