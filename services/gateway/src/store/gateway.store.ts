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

/** The gateway's own small database: sessions, sign-in guards and idempotent answers. */
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
  return { refreshSessions, loginGuards, idempotency };
}

export type GatewayModels = ReturnType<typeof gatewayModels>;
