import { DomainError } from '@lovepoints/errors';
import type { Logger } from '@lovepoints/logging';
import { keyDigest } from '@lovepoints/mongo';
import { randomUUID } from 'node:crypto';
import { RateLimitedError } from '../http/rate-limit';
import type { GatewayModels } from '../store/gateway.store';
import { issueTokens, type TokenSettings, type TokenUser, verifyRefreshToken } from './tokens';

/**
 * Refresh tokens are single use. Each sign-in starts a family; each exchange marks the presented
 * token used and issues the next one of the family. Presenting a used token again means two
 * parties hold it (one stole it), so the whole family is revoked and both must sign in again.
 * Only the SHA-256 of a token's id is stored.
 */
export class RefreshSessions {
  constructor(
    private readonly models: GatewayModels,
    private readonly settings: TokenSettings,
    private readonly logger: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Tokens for a fresh sign-in (a new family). */
  async start(user: TokenUser): Promise<{ accessToken: string; refreshToken: string }> {
    return this.issue(user, randomUUID());
  }

  private async issue(user: TokenUser, familyId: string) {
    const sessionId = randomUUID();
    const now = this.now();
    await this.models.refreshSessions.create({
      _id: keyDigest(sessionId),
      userId: user.id,
      familyId,
      expiresAt: new Date(now.getTime() + this.settings.refreshTtlSeconds * 1000),
      createdAt: now,
    });
    return issueTokens(this.settings, user, sessionId);
  }

  /**
   * Exchanges a refresh token once. `loadUser` reads the user again, so roles granted since the
   * last exchange take effect.
   */
  async rotate(refreshToken: string, loadUser: (userId: string) => Promise<TokenUser>) {
    const { userId, sessionId } = verifyRefreshToken(this.settings, refreshToken);
    const now = this.now();
    const used = await this.models.refreshSessions
      .findOneAndUpdate({ _id: keyDigest(sessionId), userId, usedAt: null, revokedAt: null, expiresAt: { $gt: now } }, { $set: { usedAt: now } }, { new: true })
      .lean();
    if (used === null) {
      const known = await this.models.refreshSessions.findById(keyDigest(sessionId)).lean();
      if (known !== null && known.usedAt !== null && known.revokedAt === null) {
        await this.revokeFamily(known.familyId);
        this.logger.warn({ userId, familyId: known.familyId }, 'a used refresh token was presented again; its family is revoked');
        throw new DomainError(
          'unauthenticated',
          'refresh_token_reused',
          'This refresh token was already used; every session of that sign-in is ended. Sign in again.',
        );
      }
      throw new DomainError('unauthenticated', 'refresh_token_revoked', 'This refresh token is no longer valid. Sign in again.');
    }
    const user = await loadUser(userId);
    return this.issue(user, used.familyId);
  }

  /** Ends the sign-in the token belongs to (all its rotations). Unknown tokens end nothing. */
  async logout(refreshToken: string): Promise<void> {
    const { sessionId } = verifyRefreshToken(this.settings, refreshToken);
    const known = await this.models.refreshSessions.findById(keyDigest(sessionId)).lean();
    if (known !== null) await this.revokeFamily(known.familyId);
  }

  private async revokeFamily(familyId: string): Promise<void> {
    await this.models.refreshSessions.updateMany({ familyId, revokedAt: null }, { $set: { revokedAt: this.now() } });
  }
}

export interface LoginGuardSettings {
  /** Failed sign-ins of one phone within the window that lock it. */
  maxFailures: number;
  windowMs: number;
  lockMs: number;
}

/**
 * Throttles password guessing per phone number across gateway instances: after `maxFailures`
 * failures within `windowMs` the number is locked for `lockMs` (429), whatever password comes.
 */
export class LoginGuard {
  constructor(
    private readonly models: GatewayModels,
    private readonly settings: LoginGuardSettings,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private key = (phone: string) => keyDigest(`login:${phone}`);

  async assertOpen(phone: string): Promise<void> {
    const guard = await this.models.loginGuards.findById(this.key(phone)).lean();
    const now = this.now().getTime();
    if (guard?.lockedUntil && guard.lockedUntil.getTime() > now) {
      const seconds = Math.ceil((guard.lockedUntil.getTime() - now) / 1000);
      throw new RateLimitedError('login_locked', `Too many failed sign-ins for this phone number; try again in ${seconds} s.`, seconds);
    }
  }

  async recordFailure(phone: string): Promise<void> {
    const id = this.key(phone);
    const now = this.now();
    const windowStart = new Date(now.getTime() - this.settings.windowMs);
    // A new window when there is none or the last one is over; then count this failure.
    await this.models.loginGuards.updateOne(
      { _id: id, windowStartedAt: { $lt: windowStart } },
      { $set: { failures: 0, windowStartedAt: now, lockedUntil: null } },
    );
    const guard = await this.models.loginGuards
      .findOneAndUpdate({ _id: id }, { $inc: { failures: 1 }, $setOnInsert: { windowStartedAt: now, lockedUntil: null } }, { upsert: true, new: true })
      .lean();
    if (guard !== null && guard.failures >= this.settings.maxFailures) {
      await this.models.loginGuards.updateOne({ _id: id }, { $set: { lockedUntil: new Date(now.getTime() + this.settings.lockMs) } });
    }
  }

  async recordSuccess(phone: string): Promise<void> {
    await this.models.loginGuards.deleteOne({ _id: this.key(phone) });
  }
}
