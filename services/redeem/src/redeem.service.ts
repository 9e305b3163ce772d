import { DomainError, permissionDenied, unauthenticated } from '@lovepoints/errors';
import type { Caller } from '@lovepoints/grpc';
import { insertUnique } from '@lovepoints/mongo';
import { randomUUID } from 'node:crypto';
import type { RedeemModels, ShopDocument } from './store/models';

function shopView(shop: ShopDocument) {
  return {
    id: shop._id,
    communityId: shop.communityId,
    name: shop.name,
    ownerUserId: shop.ownerUserId,
    status: shop.status,
    createdAt: shop.createdAt.toISOString(),
  };
}

/**
 * The love-points supermarket. This first slice holds shops; items, stock, redemptions and
 * settlement follow (issue 5).
 */
export class RedeemService {
  constructor(private readonly models: RedeemModels) {}

  /**
   * An organizer opens a shop in their own community. The owner's membership of that community
   * is checked by the gateway with the volunteer service before this call.
   */
  async createShop(caller: Caller | undefined, input: { name: string; ownerUserId: string }) {
    if (caller === undefined) throw unauthenticated();
    if (!caller.roles.includes('organizer') || caller.communityId === '') throw permissionDenied('Only organizers of a community open shops.');
    const shop = await insertUnique(
      () =>
        this.models.shops.create({
          _id: randomUUID(),
          communityId: caller.communityId,
          name: input.name,
          ownerUserId: input.ownerUserId,
          status: 'open',
          createdByUserId: caller.userId,
        }),
      () => new DomainError('already_exists', 'shop_exists', 'The community already has a shop of that name.', [{ path: 'name', message: 'already exists' }]),
    );
    return shopView(shop.toObject());
  }

  async listShops(caller: Caller | undefined) {
    if (caller === undefined) throw unauthenticated();
    const shops = await this.models.shops.find({ communityId: caller.communityId }).sort({ name: 1 }).limit(1000).lean();
    return { shops: shops.map(shopView) };
  }
}
