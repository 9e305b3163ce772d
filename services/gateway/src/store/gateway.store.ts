import type { Connection } from '@lovepoints/mongo';
import { Schema } from 'mongoose';

/** A refresh token, kept only as the SHA-256 of its `jti`; tokens rotated from one sign-in share a family. */
export interface RefreshSessionDocument {
  _id: string;
  userId: string;
  familyId: string;
  expiresAt: Date;
  /** When it was exchanged for new tokens; a second exchange is a stolen token being replayed. */
  usedAt: Date | null;
  revokedAt: Date | null;
  createdAt: Date;
}

/** Failed sign-ins of one phone number (its SHA-256), for throttling and temporary lockout. */
export interface LoginGuardDocument {
  _id: string;
  failures: number;
  windowStartedAt: Date;
  lockedUntil: Date | null;
}

/** The first answer to a request with an `Idempotency-Key`, replayed for the same user and key. */
export interface IdempotencyDocument {
  _id: string;
  requestHash: string;
  state: 'in_progress' | 'done';
  status: number;
  body: string;
  createdAt: Date;
  /** A request that died in progress stops blocking its key after this. */
  leaseUntil: Date;
}

/**
 * One privileged action that succeeded. The id starts with the time (ISO-8601, so ids sort by
 * time), which lets lists page newest first and filter by period on the id alone.
 */
export interface AuditEntryDocument {
  _id: string;
  at: Date;
  /** The policy action, e.g. `points.award`. */
  action: string;
  actorUserId: string;
  actorRoles: string[];
  /** The community acted in ('' when none is known); the street is the actor's, where they act. */
  communityId: string;
  street: string;
  /** The record acted on: a user, an activity, a shop, an order… */
  targetId: string;
  requestId: string;
  method: string;
  path: string;
  /** A small JSON object: amounts, reasons, corrections. */
  detail: string;
}

/** The gateway's own small database: sessions, sign-in guards, idempotent answers and the audit log. */
export function gatewayModels(connection: Connection) {
  const refreshSessions = connection.model<RefreshSessionDocument>(
    'RefreshSession',
    new Schema<RefreshSessionDocument>({
      _id: String,
      userId: { type: String, required: true },
      familyId: { type: String, required: true },
      expiresAt: { type: Date, required: true },
      usedAt: { type: Date, default: null },
      revokedAt: { type: Date, default: null },
      createdAt: { type: Date, default: () => new Date() },
    }),
    'refresh_sessions',
  );
  const loginGuards = connection.model<LoginGuardDocument>(
    'LoginGuard',
    new Schema<LoginGuardDocument>({
      _id: String,
      failures: { type: Number, default: 0 },
      windowStartedAt: { type: Date, required: true },
      lockedUntil: { type: Date, default: null },
    }),
    'login_guards',
  );
  const idempotency = connection.model<IdempotencyDocument>(
    'IdempotentAnswer',
    new Schema<IdempotencyDocument>({
      _id: String,
      requestHash: { type: String, required: true },
      state: { type: String, required: true },
      status: { type: Number, default: 0 },
      body: { type: String, default: '' },
      createdAt: { type: Date, default: () => new Date() },
      leaseUntil: { type: Date, required: true },
    }),
    'idempotent_answers',
  );
  const auditEntries = connection.model<AuditEntryDocument>(
    'AuditEntry',
    new Schema<AuditEntryDocument>({
      _id: String,
      at: { type: Date, required: true },
      action: { type: String, required: true },
      actorUserId: { type: String, required: true },
      actorRoles: { type: [String], default: [] },
      communityId: { type: String, default: '' },
      street: { type: String, default: '' },
      targetId: { type: String, default: '' },
      requestId: { type: String, default: '' },
      method: { type: String, default: '' },
      path: { type: String, default: '' },
      detail: { type: String, default: '{}' },
    }),
    'audit_entries',
  );
  return { refreshSessions, loginGuards, idempotency, auditEntries };
}

export type GatewayModels = ReturnType<typeof gatewayModels>;
