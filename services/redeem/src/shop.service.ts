import { DomainError, notFound } from '@lovepoints/errors';
import { authorize, type Caller, hasRole, requireCaller } from '@lovepoints/grpc';
import type { Logger } from '@lovepoints/logging';
import { insertUnique } from '@lovepoints/mongo';
import { randomUUID } from 'node:crypto';
import type { LimitPeriod } from './domain/order-rules';
import { saleVerdict } from './domain/order-rules';
import { ensureShopVisible, isShopOwner, unknownItem } from './domain/shop-access';
import type { RedeemLedger } from './ledger.client';
import type { ItemDocument, RedeemModels, ShopDocument } from './store/models';

export function shopView(shop: ShopDocument) {
  return {
    id: shop._id,
    communityId: shop.communityId,
    name: shop.name,
    ownerUserId: shop.ownerUserId,
    status: shop.status,
    createdAt: shop.createdAt.toISOString(),
  };
}

function itemView(item: ItemDocument) {
  return {
    id: item._id,
    shopId: item.shopId,
    name: item.name,
    description: item.description,
    imageUrl: item.imageUrl,
    pricePoints: item.pricePoints,
    stock: item.stock,
    perPersonLimit: item.perPersonLimit,
    limitPeriod: item.limitPeriod,
    active: item.active,
    activeFrom: item.activeFrom?.toISOString() ?? '',
    activeUntil: item.activeUntil?.toISOString() ?? '',
    createdAt: item.createdAt.toISOString(),
  };
}

export interface ItemInput {
  name: string;
  description: string;
  imageUrl: string;
  pricePoints: number;
  stock: number;
  perPersonLimit: number;
  limitPeriod: LimitPeriod;
  activeFrom?: string | undefined;
  activeUntil?: string | undefined;
}

export type ItemPatch = Partial<Omit<ItemInput, 'activeFrom' | 'activeUntil'> & { active: boolean; activeFrom: string | null; activeUntil: string | null }>;

const toDate = (value: string | null | undefined) => (value === null || value === undefined ? null : new Date(value));

/** Shops and their shelves. Stock changes by orders are the order service's; here it is only set. */
export class ShopService {
  constructor(
    private readonly models: RedeemModels,
    private readonly ledger: RedeemLedger,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * An organizer opens a shop in their own community. The owner's membership of that community
   * is checked by the gateway with the volunteer service before this call.
   */
  async createShop(caller: Caller | undefined, input: { name: string; ownerUserId: string }) {
    const known = authorize(caller, 'shop.create');
    if (known.communityId === '') throw notFound('Your community');
    const shop = await insertUnique(
      () =>
        this.models.shops.create({
          _id: randomUUID(),
          communityId: known.communityId,
          name: input.name,
          ownerUserId: input.ownerUserId,
          status: 'open',
          createdByUserId: known.userId,
        }),
      () => new DomainError('already_exists', 'shop_exists', 'The community already has a shop of that name.', [{ path: 'name', message: 'already exists' }]),
    );
    // The ledger opens an account on its first transfer anyway, so a failure here costs nothing.
    await this.ledger.openShopAccount(shop).catch((error: unknown) => this.logger.warn({ err: error, shopId: shop._id }, 'opening the shop account failed'));
    return shopView(shop.toObject());
  }

  async listShops(caller: Caller | undefined) {
    const known = requireCaller(caller);
    const shops = await this.models.shops.find({ communityId: known.communityId }).sort({ name: 1 }).limit(1000).lean();
    return { shops: shops.map(shopView) };
  }

  /** An organizer opens or closes a shop (a closed shop takes no new orders) or renames it. */
  async updateShop(caller: Caller | undefined, shopId: string, patch: { status?: 'open' | 'closed' | undefined; name?: string | undefined }) {
    const known = authorize(caller, 'shop.manage');
    ensureShopVisible(known, await this.models.shops.findById(shopId).lean());
    const updated = await insertUnique(
      () =>
        this.models.shops
          .findByIdAndUpdate(
            shopId,
            { $set: { ...(patch.status ? { status: patch.status } : {}), ...(patch.name ? { name: patch.name } : {}) } },
            { new: true },
          )
          .lean(),
      () => new DomainError('already_exists', 'shop_exists', 'The community already has a shop of that name.', [{ path: 'name', message: 'already exists' }]),
    );
    if (updated === null) throw notFound('The shop');
    return shopView(updated);
  }

  /** A shop the caller runs, or the refusal: unknown (another community) or not theirs. */
  async ownShop(caller: Caller | undefined, shopId: string, action: 'shop.manage_items' | 'shop.sell'): Promise<ShopDocument> {
    const known = authorize(caller, action);
    const shop = await this.models.shops.findById(shopId).lean();
    if (shop === null) throw notFound('The shop');
    authorize(known, action, { communityId: shop.communityId, ownerUserId: shop.ownerUserId, what: 'The shop' });
    return shop;
  }

  async createItem(caller: Caller | undefined, shopId: string, input: ItemInput) {
    const shop = await this.ownShop(caller, shopId, 'shop.manage_items');
    const now = this.now();
    const item = await this.models.items.create({
      _id: randomUUID(),
      shopId: shop._id,
      communityId: shop.communityId,
      ...input,
      activeFrom: toDate(input.activeFrom),
      activeUntil: toDate(input.activeUntil),
      active: true,
      reservations: [],
      createdAt: now,
      updatedAt: now,
    });
    return itemView(item.toObject());
  }

  /** Residents see what is on sale now; the shop's owner and organizers see every item. */
  async listItems(caller: Caller | undefined, shopId: string) {
    const known = requireCaller(caller);
    const shop = await this.models.shops.findById(shopId).lean();
    ensureShopVisible(known, shop);
    const items = await this.models.items.find({ shopId }, { reservations: 0 }).sort({ name: 1 }).limit(1000).lean();
    const seesEverything = isShopOwner(known, shop) || hasRole(known, 'organizer');
    const now = this.now();
    return { items: items.filter((item) => seesEverything || saleVerdict(item, now) === 'on_sale').map(itemView) };
  }

  /**
   * Changes the given fields. Setting `stock` sets the units that can be ordered now; units held
   * by pending orders come back on top of it if those orders are cancelled or expire.
   */
  async updateItem(caller: Caller | undefined, shopId: string, itemId: string, patch: ItemPatch) {
    const shop = await this.ownShop(caller, shopId, 'shop.manage_items');
    const item = await this.models.items.findById(itemId, { reservations: 0 }).lean();
    if (item === null || item.shopId !== shop._id) throw unknownItem();
    const { activeFrom, activeUntil, ...plain } = patch;
    const window = {
      ...(activeFrom !== undefined ? { activeFrom: toDate(activeFrom) } : {}),
      ...(activeUntil !== undefined ? { activeUntil: toDate(activeUntil) } : {}),
    };
    const from = window.activeFrom !== undefined ? window.activeFrom : item.activeFrom;
    const until = window.activeUntil !== undefined ? window.activeUntil : item.activeUntil;
    if (from !== null && until !== null && until.getTime() <= from.getTime()) {
      throw new DomainError('invalid_argument', 'invalid_window', 'The sale must end after it starts.', [
        { path: 'activeUntil', message: 'must be after activeFrom' },
      ]);
    }
    const updated = await this.models.items
      .findByIdAndUpdate(itemId, { $set: { ...plain, ...window, updatedAt: this.now() } }, { new: true, projection: { reservations: 0 } })
      .lean();
    if (updated === null) throw unknownItem();
    return itemView(updated);
  }
}
