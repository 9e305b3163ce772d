import { invalidArgument } from '@lovepoints/errors';
import type { Caller } from '@lovepoints/grpc';
import type { Logger } from '@lovepoints/logging';
import { isDuplicateKeyError } from '@lovepoints/mongo';
import { randomUUID } from 'node:crypto';
import type { AuditEntryDocument, GatewayModels } from '../store/gateway.store';

/** What a privileged route says about what it did, once it succeeded. */
export interface AuditFacts {
  /** The record acted on (a user, an activity, a shop, an order). */
  targetId: string;
  /** The community it belongs to ('' when the route cannot know). */
  communityId: string;
  /** A small object: amounts, reasons, corrections. Cut at `detailCharsMax` characters. */
  detail?: Record<string, unknown>;
}

/** Where the request came from, for tracing an entry back to the logs. */
export interface AuditOrigin {
  requestId: string;
  method: string;
  path: string;
}

/** Which entries a reader may see: a street admin their street's, an organizer their community's. */
export type AuditReach = { street: string } | { communityId: string };

export interface AuditQuery {
  from?: string | undefined;
  to?: string | undefined;
  action?: string | undefined;
  communityId?: string | undefined;
  cursor?: string | undefined;
  limit: number;
}

const detailCharsMax = 2000;
const attemptsMax = 3;

export function auditEntryView(entry: AuditEntryDocument) {
  return {
    id: entry._id,
    at: entry.at.toISOString(),
    action: entry.action,
    actorUserId: entry.actorUserId,
    actorRoles: entry.actorRoles,
    communityId: entry.communityId === '' ? null : entry.communityId,
    street: entry.street,
    targetId: entry.targetId,
    requestId: entry.requestId,
    method: entry.method,
    path: entry.path,
    detail: JSON.parse(entry.detail) as Record<string, unknown>,
  };
}

function detailText(detail: Record<string, unknown> | undefined): string {
  const text = JSON.stringify(detail ?? {});
  return text.length <= detailCharsMax ? text : JSON.stringify({ truncated: text.slice(0, detailCharsMax) });
}

const encodeCursor = (id: string) => Buffer.from(id).toString('base64url');

function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString();
  if (!/^\d{4}-\d\d-\d\dT[\d:.]+Z~[\w-]+$/.test(id)) throw invalidArgument([{ path: 'cursor', message: 'not a cursor of this list' }]);
  return id;
}

/**
 * The audit log of privileged actions, in the gateway's database. An entry is written after the
 * action succeeded, because only then is there something to record and its community is known.
 * A failed write is retried, and if it still fails the whole entry goes to the error log: the
 * request itself still succeeds, since the action already happened in a service and answering
 * an error would invite the client to repeat it. So an entry is never dropped silently, but an
 * outage of the gateway's database can leave it in the logs only (see docs/architecture.md).
 */
export class AuditLog {
  constructor(
    private readonly models: GatewayModels,
    private readonly logger: Logger,
    private readonly retryDelayMs = 100,
  ) {}

  async record(action: string, caller: Caller, origin: AuditOrigin, describe: () => AuditFacts | Promise<AuditFacts>): Promise<void> {
    const at = new Date();
    let facts: AuditFacts;
    try {
      facts = await describe();
    } catch (error) {
      // The action succeeded; what is known of it is still recorded, with why the rest is missing.
      this.logger.error({ err: error, action, requestId: origin.requestId }, 'describing an audited action failed');
      facts = { targetId: '', communityId: caller.communityId, detail: { describeFailed: error instanceof Error ? error.message : String(error) } };
    }
    const entry: AuditEntryDocument = {
      _id: `${at.toISOString()}~${randomUUID()}`,
      at,
      action,
      actorUserId: caller.userId,
      actorRoles: caller.roles,
      communityId: facts.communityId,
      street: caller.street,
      targetId: facts.targetId,
      requestId: origin.requestId,
      method: origin.method.toUpperCase(),
      path: origin.path,
      detail: detailText(facts.detail),
    };
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.models.auditEntries.create(entry);
        return;
      } catch (error) {
        // A write that succeeded but whose answer was lost comes back as a duplicate id.
        if (isDuplicateKeyError(error)) return;
        if (attempt >= attemptsMax) {
          this.logger.error({ err: error, auditEntry: entry }, 'audit entry not stored; it is kept in this log line');
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, this.retryDelayMs * attempt));
      }
    }
  }

  /** Entries newest first, within the reader's reach and the query's filters. */
  async list(reach: AuditReach, query: AuditQuery) {
    const idRange: Record<string, string> = {};
    if (query.from !== undefined) idRange.$gte = new Date(query.from).toISOString();
    // Ids start with the time, so every id of an instant before `to` sorts below `to` itself.
    if (query.to !== undefined) idRange.$lt = new Date(query.to).toISOString();
    if (query.cursor !== undefined) {
      const after = decodeCursor(query.cursor);
      if (idRange.$lt === undefined || after < idRange.$lt) idRange.$lt = after;
    }
    const filter = {
      ...reach,
      ...(query.communityId === undefined ? {} : { communityId: query.communityId }),
      ...(query.action === undefined ? {} : { action: query.action }),
      ...(Object.keys(idRange).length === 0 ? {} : { _id: idRange }),
    };
    const entries = await this.models.auditEntries
      .find(filter)
      .sort({ _id: -1 })
      .limit(query.limit + 1)
      .lean();
    const page = entries.slice(0, query.limit);
    const last = page.at(-1);
    return { items: page.map(auditEntryView), nextCursor: entries.length > query.limit && last !== undefined ? encodeCursor(last._id) : null };
  }
}
