import {
  confirmPickupInput,
  counterSaleInput,
  createItemInput,
  createRedemptionInput,
  createShopInput,
  identifier,
  listRedemptionsInput,
  settleShopInput,
  settlementPeriodInput,
  updateItemInput,
  updateShopInput,
} from '@lovepoints/contracts';
import { parseInput } from '@lovepoints/errors';
import { type AsyncHandlers, type redeemV1, requireServiceCaller } from '@lovepoints/grpc';
import { z } from 'zod';
import type { OrderService } from '../order.service';
import type { SettlementService } from '../settlement.service';
import type { ShopService } from '../shop.service';

/** proto3 sends absent strings as ''; optional fields treat that as "not given". */
const optional = (value: string) => (value === '' ? undefined : value);
const idempotencyKey = z.string().max(100);

/**
 * The fields an UpdateItem request changes, by its update mask; a cleared sale-window bound
 * travels as '' and becomes null.
 */
function itemPatch(
  request: Record<'name' | 'description' | 'imageUrl' | 'limitPeriod' | 'activeFrom' | 'activeUntil', string> &
    Record<'pricePoints' | 'stock' | 'perPersonLimit', number> & { active: boolean; updateMask: string[] },
) {
  const named = new Set(request.updateMask);
  const values: Record<string, unknown> = {
    name: request.name,
    description: request.description,
    imageUrl: request.imageUrl,
    pricePoints: request.pricePoints,
    stock: request.stock,
    perPersonLimit: request.perPersonLimit,
    limitPeriod: request.limitPeriod,
    active: request.active,
    activeFrom: request.activeFrom === '' ? null : request.activeFrom,
    activeUntil: request.activeUntil === '' ? null : request.activeUntil,
  };
  return parseInput(updateItemInput, Object.fromEntries(Object.entries(values).filter(([field]) => named.has(field))));
}

/** Thin transport: parse with the shared contract schemas, call the service, return its view. */
export function redeemHandlers(shops: ShopService, orders: OrderService, settlements: SettlementService): AsyncHandlers<redeemV1.RedeemServiceHandlers> {
  const shopId = (request: { shopId: string }) => parseInput(identifier, request.shopId, 'shopId');
  return {
    CreateShop: (request, caller) => shops.createShop(caller, parseInput(createShopInput, request)),
    ListShops: (_request, caller) => shops.listShops(caller),
    UpdateShop: (request, caller) =>
      shops.updateShop(caller, shopId(request), parseInput(updateShopInput, { status: optional(request.status), name: optional(request.name) })),
    CreateItem: (request, caller) =>
      shops.createItem(
        caller,
        shopId(request),
        parseInput(createItemInput, {
          ...request,
          limitPeriod: optional(request.limitPeriod),
          activeFrom: optional(request.activeFrom),
          activeUntil: optional(request.activeUntil),
        }),
      ),
    ListItems: (request, caller) => shops.listItems(caller, shopId(request)),
    UpdateItem: (request, caller) => shops.updateItem(caller, shopId(request), parseInput(identifier, request.itemId, 'itemId'), itemPatch(request)),
    CreateRedemption: (request, caller) =>
      orders.createRedemption(caller, {
        ...parseInput(createRedemptionInput, request),
        idempotencyKey: parseInput(idempotencyKey, request.idempotencyKey, 'idempotencyKey'),
      }),
    CancelRedemption: (request, caller) => orders.cancelRedemption(caller, parseInput(identifier, request.redemptionId, 'redemptionId')),
    GetRedemption: (request, caller) => orders.getRedemption(caller, parseInput(identifier, request.redemptionId, 'redemptionId')),
    ListRedemptions: (request, caller) =>
      orders.listRedemptions(
        caller,
        parseInput(listRedemptionsInput, { status: optional(request.status), limit: request.page?.limit || undefined, cursor: request.page?.cursor ?? '' }),
      ),
    ConfirmPickup: (request, caller) =>
      orders.confirmPickup(caller, shopId(request), {
        ...parseInput(confirmPickupInput, request),
        idempotencyKey: parseInput(idempotencyKey, request.idempotencyKey, 'idempotencyKey'),
      }),
    IssueMemberCode: (_request, caller) => Promise.resolve(orders.issueMemberCode(caller)),
    CreateCounterSale: (request, caller) => orders.createCounterSale(caller, shopId(request), parseInput(counterSaleInput, request)),
    GetSettlement: (request, caller) =>
      settlements.getSettlement(caller, {
        shopId: shopId(request),
        ...parseInput(settlementPeriodInput, { from: optional(request.from), to: optional(request.to) }),
      }),
    SettleShop: (request, caller) =>
      settlements.settleShop(caller, {
        shopId: shopId(request),
        ...parseInput(settleShopInput, { to: optional(request.to) }),
        idempotencyKey: parseInput(idempotencyKey, request.idempotencyKey, 'idempotencyKey'),
      }),
    SweepOrders: async (request, caller) => {
      requireServiceCaller(caller, 'Order sweeps');
      const asOf = parseInput(z.iso.datetime({ offset: true }).optional(), optional(request.asOf), 'asOf');
      const swept = await orders.sweep(asOf === undefined ? new Date() : new Date(asOf));
      return { recovered: swept.recovered + (await settlements.recover()), expired: swept.expired };
    },
  };
}
