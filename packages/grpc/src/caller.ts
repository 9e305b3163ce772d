import * as grpc from '@grpc/grpc-js';
import { permissionDenied, unauthenticated } from '@lovepoints/errors';

export const roles = ['resident', 'volunteer', 'shopkeeper', 'organizer', 'street_admin'] as const;
export type Role = (typeof roles)[number];

/**
 * Who is calling, as established by the gateway from a verified token. It travels in gRPC
 * metadata rather than in request messages, so no request body can claim another identity.
 */
export interface Caller {
  userId: string;
  roles: Role[];
  /** Empty for a street admin, who acts over a street instead. */
  communityId: string;
  street: string;
}

const header = {
  userId: 'x-caller-user-id',
  roles: 'x-caller-roles',
  communityId: 'x-caller-community-id',
  street: 'x-caller-street',
} as const;

export function callerMetadata(caller: Caller | undefined): grpc.Metadata {
  const metadata = new grpc.Metadata();
  if (caller === undefined) return metadata;
  metadata.set(header.userId, caller.userId);
  metadata.set(header.roles, caller.roles.join(','));
  metadata.set(header.communityId, encodeURIComponent(caller.communityId));
  metadata.set(header.street, encodeURIComponent(caller.street));
  return metadata;
}

function firstValue(metadata: grpc.Metadata, key: string): string {
  const value = metadata.get(key)[0];
  return typeof value === 'string' ? value : '';
}

/** The caller, or undefined for an anonymous call (registration, login, bootstrap). */
export function callerFromMetadata(metadata: grpc.Metadata): Caller | undefined {
  const userId = firstValue(metadata, header.userId);
  if (userId === '') return undefined;
  const claimedRoles = firstValue(metadata, header.roles).split(',');
  return {
    userId,
    roles: roles.filter((role) => claimedRoles.includes(role)),
    communityId: decodeURIComponent(firstValue(metadata, header.communityId)),
    street: decodeURIComponent(firstValue(metadata, header.street)),
  };
}

/**
 * Refuses a call that carries an end user's identity: commands meant for other platform services
 * (ledger transfers, sweeps) never come from a user, so such a call came through the wrong door.
 */
export function requireServiceCaller(caller: Caller | undefined, what: string): void {
  if (caller !== undefined) throw permissionDenied(`${what} are for platform services only.`);
}

/** The caller, or UNAUTHENTICATED for an anonymous call to something that needs one. */
export function requireCaller(caller: Caller | undefined): Caller {
  if (caller === undefined) throw unauthenticated();
  return caller;
}

/** Whether the caller has any of the roles. */
export function hasRole(caller: Caller, ...anyOf: Role[]): boolean {
  return anyOf.some((role) => caller.roles.includes(role));
}

export function requireRole(caller: Caller | undefined, ...allowed: Role[]): Caller {
  const known = requireCaller(caller);
  if (!allowed.some((role) => hasRole(known, role))) throw permissionDenied(`This needs the role ${allowed.join(' or ')}.`);
  return known;
}
