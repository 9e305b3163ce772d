/**
 * Pure rules of the time bank: who pays, in which order, how much each hold pays out, and how
 * far orders escalate. No I/O here.
 */
export type PayerKind = 'own' | 'relative' | 'pool';
export type OrderLevel = 'grid' | 'community' | 'street';

export interface PayerCandidate {
  kind: PayerKind;
  /** The paying member; empty for the pool. */
  userId: string;
  /** The community of the paying account (the pool's community for the pool). */
  communityId: string;
}

/**
 * Who may pay for a beneficiary, in the order they are asked (DESIGN.md flow 3): the
 * beneficiary's own minutes, then each approved relative who agreed to pay (oldest link first),
 * then the community pool when the beneficiary is eligible.
 */
export function payerChain(
  beneficiary: { userId: string; communityId: string },
  payingRelatives: readonly { userId: string; communityId: string }[],
  poolEligible: boolean,
): PayerCandidate[] {
  return [
    { kind: 'own', userId: beneficiary.userId, communityId: beneficiary.communityId },
    ...payingRelatives.filter((relative) => relative.userId !== beneficiary.userId).map((relative) => ({ kind: 'relative' as const, ...relative })),
    ...(poolEligible ? [{ kind: 'pool' as const, userId: '', communityId: beneficiary.communityId }] : []),
  ];
}

/** Whole years between a birth date (YYYY-MM-DD) and a moment, in UTC. */
export function ageInYears(birthDate: string, on: Date): number {
  const [year, month, day] = birthDate.split('-').map(Number) as [number, number, number];
  let age = on.getUTCFullYear() - year;
  if (on.getUTCMonth() + 1 < month || (on.getUTCMonth() + 1 === month && on.getUTCDate() < day)) age -= 1;
  return age;
}

/** The pool pays for residents an organizer flagged, and for those at or above the minimum age. */
export function poolEligible(record: { poolEligible: boolean; birthDate: string } | null, on: Date, minimumAge: number): boolean {
  if (record === null) return false;
  return record.poolEligible || (record.birthDate !== '' && ageInYears(record.birthDate, on) >= minimumAge);
}

/**
 * How much each live hold pays when `minutes` are paid: holds in order, each up to what it
 * holds, the rest of each voided. Holds are posted in this order, so a hold's amount depends only
 * on the holds before it, and a step repeated after a crash posts the same amounts.
 */
export function postingPlan(heldMinutes: readonly number[], minutes: number): number[] {
  let remaining = minutes;
  return heldMinutes.map((held) => {
    const amount = Math.min(held, Math.max(remaining, 0));
    remaining -= amount;
    return amount;
  });
}

/** Most minutes the volunteer may record without an organizer; organizers may record up to a day. */
export function completionBoundMinutes(estimateMinutes: number, overrunFactor: number, byOrganizer: boolean): number {
  return byOrganizer ? 24 * 60 : estimateMinutes * overrunFactor;
}

const nextLevels: Record<OrderLevel, OrderLevel | undefined> = { grid: 'community', community: 'street', street: undefined };

export function nextLevel(level: OrderLevel): OrderLevel | undefined {
  return nextLevels[level];
}

/** The id of a family link: the two user ids, sorted, so one link per pair of people. */
export function familyLinkId(firstUserId: string, secondUserId: string): string {
  return [firstUserId, secondUserId].sort().join(':');
}
