import { DomainError } from '@lovepoints/errors';
import { type Connection, isDuplicateKeyError, keyDigest } from '@lovepoints/mongo';
import { Schema } from 'mongoose';

export interface EarningRules {
  communityId: string;
  defaultPointsPerHour: number;
  reportPoints: number;
  discussionPoints: number;
  /** 0 means no cap. */
  dailyCapPoints: number;
  /** 0 means no cap. */
  monthlyCapPoints: number;
  /** Lifetime points for star tiers 1..5, ascending. */
  starThresholds: number[];
  /** 0 means points never expire. */
  pointsExpiryMonths: number;
}

export const defaultEarningRules: Omit<EarningRules, 'communityId'> = {
  defaultPointsPerHour: 10,
  reportPoints: 5,
  discussionPoints: 2,
  dailyCapPoints: 0,
  monthlyCapPoints: 0,
  starThresholds: [50, 200, 500, 1000, 2000],
  pointsExpiryMonths: 0,
};

interface EarningRulesDocument extends Omit<EarningRules, 'communityId'> {
  _id: string;
  updatedByUserId: string;
  updatedAt: Date;
}

/** What a member earned in one calendar month (local time), by day, and each grant made. */
interface EarningCounterDocument {
  _id: string;
  earned: number;
  days: Record<string, number>;
  grants: Record<string, number>;
  version: number;
}

/** The star tier (0..5) that lifetime points reach. */
export function starTier(lifetimePoints: number, thresholds: number[]): number {
  return thresholds.filter((threshold) => lifetimePoints >= threshold).length;
}

/**
 * Earning rules per community, and the counters that enforce daily and monthly caps.
 * Months and days are counted in the community's local time (`timeZoneOffsetMinutes`, China
 * Standard Time by default).
 */
export class EarningRepository {
  private readonly rules;
  private readonly counters;

  constructor(
    connection: Connection,
    private readonly timeZoneOffsetMinutes = 480,
  ) {
    this.rules = connection.model<EarningRulesDocument>(
      'EarningRules',
      new Schema<EarningRulesDocument>({
        _id: String,
        defaultPointsPerHour: Number,
        reportPoints: Number,
        discussionPoints: Number,
        dailyCapPoints: Number,
        monthlyCapPoints: Number,
        starThresholds: [Number],
        pointsExpiryMonths: Number,
        updatedByUserId: String,
        updatedAt: Date,
      }),
    );
    this.counters = connection.model<EarningCounterDocument>(
      'EarningCounter',
      new Schema<EarningCounterDocument>({ _id: String, earned: Number, days: Schema.Types.Mixed, grants: Schema.Types.Mixed, version: Number }),
    );
  }

  async init(): Promise<void> {
    await Promise.all([this.rules.init(), this.counters.init()]);
  }

  private readonly displayCache = new Map<string, { rules: EarningRules; until: number }>();

  /**
   * Rules for display (star tiers on a balance read), cached for a few seconds: balance reads are
   * the hottest path. Changes through this process show at once; another replica's after the TTL.
   * Earning and caps always read the stored rules.
   */
  async getRulesForDisplay(communityId: string, ttlMs = 5000): Promise<EarningRules> {
    const cached = this.displayCache.get(communityId);
    if (cached !== undefined && cached.until > Date.now()) return cached.rules;
    const rules = await this.getRules(communityId);
    if (this.displayCache.size >= 10_000) this.displayCache.clear();
    this.displayCache.set(communityId, { rules, until: Date.now() + ttlMs });
    return rules;
  }

  async getRules(communityId: string): Promise<EarningRules> {
    const stored = await this.rules.findById(communityId).lean();
    if (stored === null) return { communityId, ...defaultEarningRules };
    const { _id, updatedByUserId: _by, updatedAt: _at, ...rules } = stored;
    return { ...defaultEarningRules, ...rules, communityId: _id };
  }

  /** Communities whose points expire. */
  async communitiesWithExpiry(): Promise<string[]> {
    const rows = await this.rules.find({ pointsExpiryMonths: { $gt: 0 } }, { _id: 1 }).lean();
    return rows.map((row) => row._id);
  }

  /** Start of the local calendar month `monthsBack` months before the month of `at`. */
  monthStart(at: Date, monthsBack: number): Date {
    const local = new Date(at.getTime() + this.timeZoneOffsetMinutes * 60_000);
    const start = Date.UTC(local.getUTCFullYear(), local.getUTCMonth() - monthsBack, 1);
    return new Date(start - this.timeZoneOffsetMinutes * 60_000);
  }

  async setRules(rules: EarningRules, byUserId: string): Promise<EarningRules> {
    const { communityId, ...values } = rules;
    this.displayCache.delete(communityId);
    await this.rules.updateOne({ _id: communityId }, { $set: { ...values, updatedByUserId: byUserId, updatedAt: new Date() } }, { upsert: true });
    return this.getRules(communityId);
  }

  /** Local calendar keys of an instant: `YYYY-MM` and the day of the month. */
  periodKeys(at: Date): { month: string; day: string } {
    const local = new Date(at.getTime() + this.timeZoneOffsetMinutes * 60_000);
    return { month: local.toISOString().slice(0, 7), day: local.toISOString().slice(8, 10) };
  }

  /**
   * How many of `requestedPoints` a member may still earn under the caps, recorded once per
   * `grantId` so that a redelivered event gets the same answer. A compare-and-set on the
   * counter's version makes concurrent grants for one member take turns, so caps hold under
   * concurrency. A grant recorded before a crash is simply reused when the event comes again.
   */
  async grant(userId: string, grantId: string, requestedPoints: number, at: Date, rules: EarningRules): Promise<number> {
    if (rules.dailyCapPoints === 0 && rules.monthlyCapPoints === 0) return requestedPoints;
    const { month, day } = this.periodKeys(at);
    const counterId = `${userId}:${month}`;
    // Field names may not contain dots; a digest of the id is safe and still unique.
    const grantKey = keyDigest(grantId, 22);
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const counter = await this.counters.findById(counterId).lean();
      const previous = counter?.grants?.[grantKey];
      if (previous !== undefined) return previous;
      const earnedMonth = counter?.earned ?? 0;
      const earnedDay = counter?.days?.[day] ?? 0;
      const monthLeft = rules.monthlyCapPoints === 0 ? Infinity : rules.monthlyCapPoints - earnedMonth;
      const dayLeft = rules.dailyCapPoints === 0 ? Infinity : rules.dailyCapPoints - earnedDay;
      const granted = Math.max(0, Math.min(requestedPoints, monthLeft, dayLeft));
      if (counter === null) {
        try {
          await this.counters.create({ _id: counterId, earned: granted, days: { [day]: granted }, grants: { [grantKey]: granted }, version: 1 });
          return granted;
        } catch (error) {
          // Another grant created the counter first: read it and take turns.
          if (isDuplicateKeyError(error)) continue;
          throw error;
        }
      }
      const updated = await this.counters.updateOne(
        { _id: counterId, version: counter.version },
        { $inc: { earned: granted, [`days.${day}`]: granted, version: 1 }, $set: { [`grants.${grantKey}`]: granted } },
      );
      if (updated.modifiedCount === 1) return granted;
    }
    throw new DomainError('unavailable', 'earning_contention', 'Too many concurrent credits for this member; retry.');
  }
}
