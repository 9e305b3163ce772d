import { DomainError, notFound, permissionDenied, unauthenticated } from '@lovepoints/errors';
import type { Caller, Role } from '@lovepoints/grpc';

/** The caller, or UNAUTHENTICATED for an anonymous call to something that needs one. */
export function requireCaller(caller: Caller | undefined): Caller {
  if (caller === undefined) throw unauthenticated();
  return caller;
}

export function hasRole(caller: Caller, role: Role): boolean {
  return caller.roles.includes(role);
}

export function requireRole(caller: Caller | undefined, ...allowed: Role[]): Caller {
  const known = requireCaller(caller);
  if (!allowed.some((role) => hasRole(known, role))) throw permissionDenied(`This needs the role ${allowed.join(' or ')}.`);
  return known;
}

/**
 * Tenancy: a member sees their own community; a street admin sees every community of their
 * street. A record of any other community is reported as not found, never as forbidden, so ids
 * of other communities reveal nothing.
 */
export function canSeeCommunity(caller: Caller, community: { id: string; street: string }): boolean {
  if (hasRole(caller, 'street_admin') && caller.street !== '' && caller.street === community.street) return true;
  return caller.communityId !== '' && caller.communityId === community.id;
}

export function ensureVisible(caller: Caller, community: { id: string; street: string }, what: string): void {
  if (!canSeeCommunity(caller, community)) throw notFound(what);
}

/** Organizers act in their own community; street admins in their street's communities. */
export function ensureCanManage(caller: Caller, community: { id: string; street: string }, what: string): void {
  ensureVisible(caller, community, what);
  if (!hasRole(caller, 'organizer') && !hasRole(caller, 'street_admin')) throw permissionDenied('Only organizers and street admins can do this.');
}

export function conflict(code: string, message: string): DomainError {
  return new DomainError('conflict', code, message);
}

export function refused(code: string, message: string): DomainError {
  return new DomainError('business_rule', code, message);
}
