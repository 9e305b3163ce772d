import {
  confirmPickupInput,
  counterSaleInput,
  createItemInput,
  createRedemptionInput,
  createShopInput,
  listRedemptionsInput,
  settleShopInput,
  settlementPeriodInput,
  updateItemInput,
  updateShopInput,
} from '@lovepoints/contracts';
import { DomainError } from '@lovepoints/errors';
import { callUnary } from '@lovepoints/grpc';
import { z } from 'zod';
import { defineRoute, TextBody } from '../http/route';
import { emptyToNull, idParams, pageOf } from './views';

const shopView = z.object({ id: z.string(), communityId: z.string(), name: z.string(), ownerUserId: z.string(), status: z.string(), createdAt: z.string() });
const itemView = z.object({
  id: z.string(),
  shopId: z.string(),
  name: z.string(),
  description: z.string(),
  imageUrl: z.string(),
  pricePoints: z.number().int(),
  stock: z.number().int().describe('units that can be ordered now'),
  perPersonLimit: z.number().int().describe('0 means no limit'),
  limitPeriod: z.string(),
  active: z.boolean(),
  activeFrom: z.string().nullable(),
  activeUntil: z.string().nullable(),
  createdAt: z.string(),
});
const redemptionView = z.object({
  id: z.string(),
  kind: z.enum(['order', 'counter']),
  communityId: z.string(),
  shopId: z.string(),
  itemId: z.string(),
  itemName: z.string(),
  userId: z.string(),
  quantity: z.number().int(),
  unitPricePoints: z.number().int(),
  pricePoints: z.number().int(),
  status: z.string().describe('reserving, pending_pickup, fulfilling, fulfilled, releasing, cancelled, expired or failed'),
  pickupCode: z.string().nullable().describe('only for the resident, while the order waits for pickup'),
  qrPayload: z.string().nullable(),
  expiresAt: z.string().describe('the pickup deadline'),
  createdAt: z.string(),
  fulfilledAt: z.string().nullable(),
  closedAt: z.string().nullable(),
  failureCode: z.string().nullable(),
});
const settlementRecordView = z.object({
  id: z.string(),
  shopId: z.string(),
  from: z.string(),
  to: z.string(),
  points: z.number().int(),
  orders: z.number().int(),
  status: z.string(),
  transferId: z.string(),
  settledAt: z.string().nullable(),
  settledByUserId: z.string(),
});
const settlementView = z.object({
  shopId: z.string(),
  from: z.string(),
  to: z.string(),
  pointsReceived: z.number().int(),
  orders: z.number().int(),
  lines: z.array(z.object({ itemId: z.string(), itemName: z.string(), quantity: z.number().int(), points: z.number().int(), orders: z.number().int() })),
  orderLines: z.array(
    z.object({
      redemptionId: z.string(),
      kind: z.string(),
      itemId: z.string(),
      itemName: z.string(),
      quantity: z.number().int(),
      points: z.number().int(),
      fulfilledAt: z.string(),
      settlementId: z.string().nullable(),
    }),
  ),
  outstandingPoints: z.number().int().describe('points received and not settled yet'),
  ledgerBalancePoints: z.number().int().describe('the shop’s balance in the ledger; equals outstandingPoints'),
  settlements: z.array(settlementRecordView),
});
const shopItemParams = z.object({ id: z.string().trim().min(1).max(100), itemId: z.string().trim().min(1).max(100) });

type Redemption = Omit<z.input<typeof redemptionView>, 'kind' | 'pickupCode' | 'qrPayload' | 'fulfilledAt' | 'closedAt' | 'failureCode'> &
  Record<'kind' | 'pickupCode' | 'qrPayload' | 'fulfilledAt' | 'closedAt' | 'failureCode', string>;

function toRedemptionView(redemption: Redemption): z.output<typeof redemptionView> {
  return {
    ...redemption,
    kind: redemption.kind as 'order' | 'counter',
    pickupCode: emptyToNull(redemption.pickupCode),
    qrPayload: emptyToNull(redemption.qrPayload),
    fulfilledAt: emptyToNull(redemption.fulfilledAt),
    closedAt: emptyToNull(redemption.closedAt),
    failureCode: emptyToNull(redemption.failureCode),
  };
}

function toItemView(item: z.input<typeof itemView> & { activeFrom: string; activeUntil: string }): z.output<typeof itemView> {
  return { ...item, activeFrom: emptyToNull(item.activeFrom), activeUntil: emptyToNull(item.activeUntil) };
}

/** A CSV field, quoted when it holds a separator, a quote or a line break (RFC 4180). */
function csvField(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** A route about one order by its id: read it, or cancel it (which moves points and stock). */
function redemptionRoute(method: 'get' | 'post', path: string, grpcMethod: 'getRedemption' | 'cancelRedemption', summary: string) {
  return defineRoute({
    method,
    path,
    summary,
    tag: 'supermarket',
    access: 'signed_in',
    action: 'redemption.manage',
    idempotent: method === 'post',
    params: idParams,
    successStatus: 200,
    response: redemptionView,
    handler: async ({ params, caller }, context) =>
      toRedemptionView(await callUnary(context.clients.redeem, grpcMethod, { redemptionId: params.id }, { caller, deadlineMs: context.deadlineMs })),
  });
}

export const redeemRoutes = [
  defineRoute({
    method: 'post',
    path: '/api/v1/shops',
    summary: 'Open a love-points supermarket shop; the owner gains the shopkeeper role',
    tag: 'supermarket',
    access: 'signed_in',
    action: 'shop.create',
    body: createShopInput,
    successStatus: 201,
    response: shopView,
    handler: async ({ body, caller }, context) => {
      const options = { caller, deadlineMs: context.deadlineMs };
      // The owner must be a member of the organizer's own community; anyone else is "not found".
      const owner = await callUnary(context.clients.volunteer, 'getUser', { userId: body.ownerUserId }, options);
      if (owner.communityId !== caller?.communityId) {
        throw new DomainError('not_found', 'not_found', 'The owner was not found in your community.', [
          { path: 'ownerUserId', message: 'not a member of your community' },
        ]);
      }
      const shop = await callUnary(context.clients.redeem, 'createShop', body, options);
      await callUnary(context.clients.volunteer, 'grantRole', { userId: body.ownerUserId, role: 'shopkeeper' }, options);
      return shop;
    },
    audit: (_input, shop) => ({
      targetId: shop.id,
      communityId: shop.communityId,
      detail: { name: shop.name, ownerUserId: shop.ownerUserId, role: 'shopkeeper' },
    }),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/shops',
    summary: 'Shops of your community',
    tag: 'supermarket',
    access: 'signed_in',
    action: 'shop.read',
    successStatus: 200,
    response: pageOf(shopView),
    handler: async ({ caller }, context) => {
      const { shops } = await callUnary(context.clients.redeem, 'listShops', {}, { caller, deadlineMs: context.deadlineMs });
      return { items: shops, nextCursor: null };
    },
  }),
  defineRoute({
    method: 'patch',
    path: '/api/v1/shops/:id',
    summary: 'Open or close a shop (a closed shop takes no new orders), or rename it',
    tag: 'supermarket',
    access: 'signed_in',
    action: 'shop.manage',
    params: idParams,
    body: updateShopInput,
    successStatus: 200,
    response: shopView,
    handler: ({ params, body, caller }, context) =>
      callUnary(
        context.clients.redeem,
        'updateShop',
        { shopId: params.id, status: body.status ?? '', name: body.name ?? '' },
        { caller, deadlineMs: context.deadlineMs },
      ),
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/shops/:id/items',
    summary: 'List an item in your shop at a points price, with stock and an optional per-person limit',
    tag: 'supermarket',
    access: 'signed_in',
    action: 'shop.manage_items',
    params: idParams,
    body: createItemInput,
    successStatus: 201,
    response: itemView,
    handler: async ({ params, body, caller }, context) =>
      toItemView(
        await callUnary(
          context.clients.redeem,
          'createItem',
          { ...body, shopId: params.id, activeFrom: body.activeFrom ?? '', activeUntil: body.activeUntil ?? '' },
          { caller, deadlineMs: context.deadlineMs },
        ),
      ),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/shops/:id/items',
    summary: 'Items of a shop: on sale now, or every item for its shopkeeper and organizers',
    tag: 'supermarket',
    access: 'signed_in',
    action: 'shop.read',
    params: idParams,
    successStatus: 200,
    response: pageOf(itemView),
    handler: async ({ params, caller }, context) => {
      const { items } = await callUnary(context.clients.redeem, 'listItems', { shopId: params.id }, { caller, deadlineMs: context.deadlineMs });
      return { items: items.map(toItemView), nextCursor: null };
    },
  }),
  defineRoute({
    method: 'patch',
    path: '/api/v1/shops/:id/items/:itemId',
    summary: 'Change an item of your shop: price, stock (units that can be ordered now), limit, sale window, active',
    tag: 'supermarket',
    access: 'signed_in',
    action: 'shop.manage_items',
    params: shopItemParams,
    body: updateItemInput,
    successStatus: 200,
    response: itemView,
    handler: async ({ params, body, caller }, context) => {
      const patch = Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined));
      return toItemView(
        await callUnary(
          context.clients.redeem,
          'updateItem',
          {
            ...patch,
            shopId: params.id,
            itemId: params.itemId,
            activeFrom: body.activeFrom ?? '',
            activeUntil: body.activeUntil ?? '',
            updateMask: Object.keys(patch),
          },
          { caller, deadlineMs: context.deadlineMs },
        ),
      );
    },
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/redemptions',
    summary: 'Order an item for points: stock reserved, points held until pickup, a pickup code issued; Idempotency-Key makes a retry the same order',
    tag: 'supermarket',
    access: 'signed_in',
    action: 'redemption.create',
    idempotent: true,
    body: createRedemptionInput,
    successStatus: 201,
    response: redemptionView,
    handler: async ({ body, caller, idempotencyKey }, context) =>
      toRedemptionView(
        await callUnary(
          context.clients.redeem,
          'createRedemption',
          { ...body, idempotencyKey: idempotencyKey ?? '' },
          { caller, deadlineMs: context.deadlineMs },
        ),
      ),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/redemptions',
    summary: 'Your own orders, newest first (with the pickup code while one waits for pickup)',
    tag: 'supermarket',
    access: 'signed_in',
    action: 'redemption.manage',
    query: listRedemptionsInput,
    successStatus: 200,
    response: pageOf(redemptionView),
    handler: async ({ query, caller }, context) => {
      const page = await callUnary(
        context.clients.redeem,
        'listRedemptions',
        { status: query.status ?? '', page: { limit: query.limit, cursor: query.cursor } },
        { caller, deadlineMs: context.deadlineMs },
      );
      return { items: page.items.map(toRedemptionView), nextCursor: emptyToNull(page.nextCursor) };
    },
  }),
  redemptionRoute('get', '/api/v1/redemptions/:id', 'getRedemption', 'One order (its resident, its shop’s shopkeeper, organizers)'),
  // Cancelling is idempotent by itself: a repeated cancel answers the cancelled order.
  redemptionRoute(
    'post',
    '/api/v1/redemptions/:id/cancel',
    'cancelRedemption',
    'Cancel a pending order: points returned, stock restored (refused once the goods were handed over)',
  ),
  defineRoute({
    method: 'post',
    path: '/api/v1/shops/:id/pickups',
    summary: 'Hand the goods over for a pickup code: the points go to the shop (too many wrong codes: 429)',
    tag: 'supermarket',
    access: 'signed_in',
    action: 'shop.sell',
    idempotent: true,
    params: idParams,
    body: confirmPickupInput,
    successStatus: 200,
    response: redemptionView.extend({ redemptionId: z.string() }),
    handler: async ({ params, body, caller, idempotencyKey }, context) => {
      const redemption = await callUnary(
        context.clients.redeem,
        'confirmPickup',
        { shopId: params.id, pickupCode: body.pickupCode, idempotencyKey: idempotencyKey ?? '' },
        { caller, deadlineMs: context.deadlineMs },
      );
      return { redemptionId: redemption.id, ...toRedemptionView(redemption) };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/me/member-code',
    summary: 'A short-lived signed member code (for a QR code) to pay at a shop’s counter; each code pays once',
    tag: 'supermarket',
    access: 'signed_in',
    action: 'redemption.create',
    successStatus: 200,
    response: z.object({ code: z.string(), qrPayload: z.string(), expiresAt: z.string() }),
    handler: ({ caller }, context) => callUnary(context.clients.redeem, 'issueMemberCode', {}, { caller, deadlineMs: context.deadlineMs }),
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/shops/:id/counter-sales',
    summary: 'Sell an item at the counter to the resident whose member code you scanned; one sale per code',
    tag: 'supermarket',
    access: 'signed_in',
    action: 'shop.sell',
    idempotent: true,
    params: idParams,
    body: counterSaleInput,
    successStatus: 201,
    response: redemptionView,
    handler: async ({ params, body, caller }, context) =>
      // The sale's id derives from the member code, so a retry is the same sale with or without a key.
      toRedemptionView(
        await callUnary(context.clients.redeem, 'createCounterSale', { ...body, shopId: params.id }, { caller, deadlineMs: context.deadlineMs }),
      ),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/shops/:id/settlement',
    summary: 'What the shop took in a period (points, orders, lines) and what is not settled yet; CSV with ?format=csv or Accept: text/csv',
    tag: 'supermarket',
    access: 'signed_in',
    action: 'shop.settlement.read',
    params: idParams,
    query: settlementPeriodInput.extend({ format: z.enum(['json', 'csv']).optional() }),
    successStatus: 200,
    response: settlementView,
    alternativeContentType: 'text/csv',
    handler: async ({ params, query, caller, accept }, context) => {
      const settlement = await callUnary(
        context.clients.redeem,
        'getSettlement',
        { shopId: params.id, from: query.from ?? '', to: query.to ?? '' },
        { caller, deadlineMs: context.deadlineMs },
      );
      const view = {
        ...settlement,
        orderLines: settlement.orderLines.map((line) => ({ ...line, settlementId: emptyToNull(line.settlementId) })),
        settlements: settlement.settlements.map((record) => ({ ...record, settledAt: emptyToNull(record.settledAt) })),
      };
      const wantsCsv = query.format === 'csv' || (query.format === undefined && /\btext\/csv\b/.test(accept));
      if (!wantsCsv) return view;
      const header = ['redemptionId', 'kind', 'fulfilledAt', 'itemId', 'itemName', 'quantity', 'points', 'settlementId'];
      const rows = view.orderLines.map((line) =>
        [line.redemptionId, line.kind, line.fulfilledAt, line.itemId, line.itemName, line.quantity, line.points, line.settlementId ?? '']
          .map(csvField)
          .join(','),
      );
      return new TextBody('text/csv; charset=utf-8', `${[header.join(','), ...rows].join('\r\n')}\r\n`, `settlement-${params.id}.csv`);
    },
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/shops/:id/settlements',
    summary: 'Mark the shop’s takings settled up to `to` (default now): the points go back to the community',
    tag: 'supermarket',
    access: 'signed_in',
    action: 'shop.settle',
    idempotent: true,
    params: idParams,
    body: settleShopInput,
    successStatus: 201,
    response: settlementRecordView,
    handler: async ({ params, body, caller, idempotencyKey }, context) => {
      const record = await callUnary(
        context.clients.redeem,
        'settleShop',
        { shopId: params.id, to: body.to ?? '', idempotencyKey: idempotencyKey ?? '' },
        { caller, deadlineMs: context.deadlineMs },
      );
      return { ...record, settledAt: emptyToNull(record.settledAt) };
    },
    audit: ({ caller }, record) => ({
      targetId: record.shopId,
      communityId: caller?.communityId ?? '',
      detail: { settlementId: record.id, points: record.points, orders: record.orders, from: record.from, to: record.to, transferId: record.transferId },
    }),
  }),
];
