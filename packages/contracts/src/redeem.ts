import { z } from 'zod';
import { dateTime, identifier, pageCursor, pageLimit } from './common';

/** The love-points supermarket's commands (shops, items, orders, counter sales, settlement). */
export const createShopInput = z.object({ name: z.string().trim().min(1, 'required').max(100), ownerUserId: identifier });
export const shopStatus = z.enum(['open', 'closed']);
export const updateShopInput = z
  .object({ status: shopStatus.optional(), name: z.string().trim().min(1, 'required').max(100).optional() })
  .refine((patch) => patch.status !== undefined || patch.name !== undefined, { message: 'give status or name', path: ['status'] });

export const limitPeriod = z.enum(['day', 'week', 'month', 'all']);
const itemName = z.string().trim().min(1, 'required').max(100);
const itemDescription = z.string().trim().max(1000);
const imageUrl = z.union([z.url({ protocol: /^https$/, message: 'an https URL' }), z.literal('')]);
const pricePoints = z.number().int('a whole number of points').min(1, 'at least 1 point').max(100_000);
const stock = z.number().int('a whole number of units').min(0, 'not negative').max(1_000_000);
const perPersonLimit = z.number().int('a whole number of units').min(0, '0 (no limit) or more').max(1000);

export const createItemInput = z
  .object({
    name: itemName,
    description: itemDescription.default(''),
    imageUrl: imageUrl.default(''),
    pricePoints,
    stock,
    perPersonLimit: perPersonLimit.default(0).describe('most units per resident per limit period; 0 means no limit'),
    limitPeriod: limitPeriod.default('month'),
    activeFrom: dateTime.optional(),
    activeUntil: dateTime.optional(),
  })
  .refine((item) => item.activeFrom === undefined || item.activeUntil === undefined || Date.parse(item.activeUntil) > Date.parse(item.activeFrom), {
    path: ['activeUntil'],
    message: 'must be after activeFrom',
  });

/** A partial change of an item; `null` clears a sale window bound. */
export const updateItemInput = z
  .object({
    name: itemName,
    description: itemDescription,
    imageUrl,
    pricePoints,
    stock,
    perPersonLimit,
    limitPeriod,
    active: z.boolean(),
    activeFrom: dateTime.nullable(),
    activeUntil: dateTime.nullable(),
  })
  .partial()
  .refine((patch) => Object.values(patch).some((value) => value !== undefined), { message: 'change at least one field', path: ['(root)'] });

/** Units of one order: a whole number from 1 to 100. */
export const orderQuantity = z.number().int('a whole number of units').min(1, 'at least 1').max(100, 'at most 100');
export const createRedemptionInput = z.object({ itemId: identifier, quantity: orderQuantity });
export const redemptionStatus = z.enum(['reserving', 'pending_pickup', 'fulfilling', 'fulfilled', 'releasing', 'cancelled', 'expired', 'failed']);
export const listRedemptionsInput = z.object({ status: redemptionStatus.optional(), limit: pageLimit, cursor: pageCursor });
export const confirmPickupInput = z.object({ pickupCode: z.string().trim().min(1, 'required').max(200) });
export const counterSaleInput = z.object({ memberCode: z.string().trim().min(1, 'required').max(500), itemId: identifier, quantity: orderQuantity });
export const settlementPeriodInput = z.object({ from: dateTime.optional(), to: dateTime.optional() });
export const settleShopInput = z.object({ to: dateTime.optional() });
