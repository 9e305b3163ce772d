import { DomainError } from '@lovepoints/errors';
import { callUnary, type createPointsClient } from '@lovepoints/grpc';
import { holdTransferId } from './domain/order-rules';

type PointsClient = ReturnType<typeof createPointsClient>;

const shopOwner = (shop: { _id: string; communityId: string }) => ({ kind: 'shop', id: shop._id, communityId: shop.communityId });

/**
 * The supermarket's side of the points ledger. Points move only here, and only with transfer ids
 * derived from the order or settlement, so a retry after any failure is the same call again.
 * These are service calls: no caller identity travels with them.
 */
export class RedeemLedger {
  constructor(
    private readonly points: PointsClient,
    private readonly deadlineMs: number,
  ) {}

  /** Opens the shop's POINTS account (again: it is idempotent) and returns it with its balances. */
  openShopAccount(shop: { _id: string; communityId: string }) {
    return callUnary(this.points, 'openAccount', { owner: shopOwner(shop), asset: 'POINTS' }, { deadlineMs: this.deadlineMs });
  }

  /** Holds the order's points from the resident, payable to the shop, for `timeoutMs`. */
  hold(order: { _id: string; userId: string; communityId: string; shopId: string; pricePoints: number }, timeoutMs: number) {
    return callUnary(
      this.points,
      'createHold',
      {
        transfer: {
          transferId: holdTransferId(order._id),
          debit: { kind: 'member', id: order.userId, communityId: order.communityId },
          credit: shopOwner({ _id: order.shopId, communityId: order.communityId }),
          asset: 'POINTS',
          amount: order.pricePoints,
          reason: 'redemption',
          reference: order._id,
        },
        timeoutMs,
      },
      { deadlineMs: this.deadlineMs },
    );
  }

  /** Posts the whole hold to the shop. */
  post(orderId: string) {
    return callUnary(this.points, 'postHold', { transferId: holdTransferId(orderId), amount: 0 }, { deadlineMs: this.deadlineMs });
  }

  /** Voids the hold; a hold that was never placed (or was refused) needs nothing. */
  async void(orderId: string): Promise<void> {
    try {
      await callUnary(this.points, 'voidHold', { transferId: holdTransferId(orderId) }, { deadlineMs: this.deadlineMs });
    } catch (error) {
      if (error instanceof DomainError && (error.code === 'not_found' || error.code === 'hold_rejected')) return;
      throw error;
    }
  }

  /** Moves a settled amount from the shop back to the community that issued it. */
  settle(settlement: { _id: string; shopId: string; communityId: string; points: number; transferId: string }) {
    return callUnary(
      this.points,
      'createTransfer',
      {
        transferId: settlement.transferId,
        debit: shopOwner({ _id: settlement.shopId, communityId: settlement.communityId }),
        credit: { kind: 'community_issuance', id: settlement.communityId, communityId: settlement.communityId },
        asset: 'POINTS',
        amount: settlement.points,
        reason: 'settlement',
        reference: settlement._id,
      },
      { deadlineMs: this.deadlineMs },
    );
  }
}
