import { DomainError } from '@lovepoints/errors';
import { isDuplicateKeyError, keyDigest } from '@lovepoints/mongo';
import type { GatewayModels } from '../store/gateway.store';

export type IdempotentStart = { kind: 'first'; id: string } | { kind: 'replay'; status: number; body: unknown };

/**
 * The first answer to a value-moving request, stored per user, endpoint and `Idempotency-Key`,
 * so a client that retries (a lost answer, a double tap) gets the same answer and nothing moves
 * twice. The same key with a different request is refused; a repeat that arrives while the first
 * still runs waits for its answer (or takes over once its lease runs out, if its gateway died).
 */
export class IdempotencyStore {
  constructor(
    private readonly models: GatewayModels,
    private readonly leaseMs = 60_000,
    /** How long a repeat waits for the first request's answer before it is told to retry. */
    private readonly waitMs = 10_000,
  ) {}

  async start(userId: string, endpoint: string, key: string, request: unknown): Promise<IdempotentStart> {
    const id = keyDigest(`${userId}\n${endpoint}\n${key}`);
    const requestHash = keyDigest(JSON.stringify(request ?? null));
    const waitUntil = Date.now() + this.waitMs;
    for (;;) {
      const now = new Date();
      try {
        await this.models.idempotency.create({
          _id: id,
          requestHash,
          state: 'in_progress',
          leaseUntil: new Date(now.getTime() + this.leaseMs),
          createdAt: now,
        });
        return { kind: 'first', id };
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
      }
      const existing = await this.models.idempotency.findById(id).lean();
      if (existing === null) continue;
      if (existing.requestHash !== requestHash) {
        throw new DomainError('conflict', 'idempotency_key_reused', 'This Idempotency-Key was already used for a different request.');
      }
      if (existing.state === 'done') return { kind: 'replay', status: existing.status, body: existing.body === '' ? undefined : JSON.parse(existing.body) };
      const takenOver = await this.models.idempotency.updateOne(
        { _id: id, state: 'in_progress', leaseUntil: { $lt: now } },
        { $set: { leaseUntil: new Date(now.getTime() + this.leaseMs) } },
      );
      if (takenOver.modifiedCount === 1) return { kind: 'first', id };
      // The same request is running (a double tap): wait for its answer rather than refuse.
      if (Date.now() >= waitUntil) {
        throw new DomainError('conflict', 'request_in_progress', 'A request with this Idempotency-Key is still being processed; retry shortly.');
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async finish(id: string, status: number, body: unknown): Promise<void> {
    await this.models.idempotency.updateOne({ _id: id }, { $set: { state: 'done', status, body: body === undefined ? '' : JSON.stringify(body) } });
  }

  /** A failed request leaves no answer behind: a retry runs again (the services dedupe value moves). */
  async abandon(id: string): Promise<void> {
    await this.models.idempotency.deleteOne({ _id: id, state: 'in_progress' });
  }
}
