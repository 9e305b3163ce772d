import { keyDigest } from '@lovepoints/mongo';

/**
 * Pure rules of orders: their life cycle, when an item is on sale, and how per-person limits
 * are counted. No I/O here.
 *
 * An order moves through phases, each recorded on its document before the side effects it
 * starts, so recovery knows what a dead process was doing:
 *   reserving → pending_pickup → fulfilling → fulfilled      (ordered ahead, picked up by code)
 *   reserving → fulfilling → fulfilled                       (counter sale)
 *   reserving | pending_pickup | fulfilling → releasing → cancelled | expired | failed
 * `reserving` takes stock, the per-person allowance and the points hold; `releasing` gives back
 * whichever of them were taken. Both are made of steps that are no-ops when repeated.
 */
export const orderPhases = ['reserving', 'pending_pickup', 'fulfilling', 'fulfilled', 'releasing', 'cancelled', 'expired', 'failed'] as const;
export type OrderPhase = (typeof orderPhases)[number];
export type ReleaseOutcome = 'cancelled' | 'expired' | 'failed';
export type OrderKind = 'order' | 'counter';

/** Phases in which the order may still hold stock, allowance or points. */
export const openPhases: readonly OrderPhase[] = ['reserving', 'pending_pickup', 'fulfilling', 'releasing'];

/** The ledger hold of an order; derived, so every retry of a step addresses the same hold. */
export function holdTransferId(orderId: string): string {
  return `redeem:${orderId}`;
}

/** The order id for a resident's Idempotency-Key: the same key twice is the same order. */
export function idempotentOrderId(userId: string, idempotencyKey: string): string {
  return `order-${keyDigest(`${userId}\n${idempotencyKey}`, 32)}`;
}

export type SaleVerdict = 'on_sale' | 'item_inactive' | 'not_on_sale_yet' | 'sale_ended';

export function saleVerdict(item: { active: boolean; activeFrom: Date | null; activeUntil: Date | null }, now: Date): SaleVerdict {
  if (!item.active) return 'item_inactive';
  if (item.activeFrom !== null && now.getTime() < item.activeFrom.getTime()) return 'not_on_sale_yet';
  if (item.activeUntil !== null && now.getTime() >= item.activeUntil.getTime()) return 'sale_ended';
  return 'on_sale';
}

export const limitPeriods = ['day', 'week', 'month', 'all'] as const;
export type LimitPeriod = (typeof limitPeriods)[number];

/**
 * The period a per-person limit counts in, as a key: the local day (`2026-05-14`), the Monday
 * of the local week (`w2026-05-11`), the local month (`2026-05`), or `all`.
 */
export function limitPeriodKey(period: LimitPeriod, at: Date, timeZoneOffsetMinutes: number): string {
  if (period === 'all') return 'all';
  const local = new Date(at.getTime() + timeZoneOffsetMinutes * 60_000);
  const day = local.toISOString().slice(0, 10);
  if (period === 'day') return day;
  if (period === 'month') return day.slice(0, 7);
  const monday = new Date(Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate() - ((local.getUTCDay() + 6) % 7)));
  return `w${monday.toISOString().slice(0, 10)}`;
}
