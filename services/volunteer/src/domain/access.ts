import { notFound, permissionDenied } from '@lovepoints/errors';
import { type Caller, hasRole } from '@lovepoints/grpc';

// Shared with the other services; re-exported so the volunteer service keeps one import place.
export { conflict, refused } from '@lovepoints/errors';
export { hasRole, requireCaller, requireRole } from '@lovepoints/grpc';

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
