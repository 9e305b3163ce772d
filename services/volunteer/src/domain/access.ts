import { notFound } from '@lovepoints/errors';
import { type Action, authorize, type Caller, hasRole } from '@lovepoints/grpc';

// Shared with the other services; re-exported so the volunteer service keeps one import place.
export { conflict, refused } from '@lovepoints/errors';
export { authorize, hasRole, requireCaller } from '@lovepoints/grpc';

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

/** Staff actions on a record of a community, by the policy table: organizers in their own, street admins in their street's. */
export function ensureCanManage(caller: Caller, action: Action, community: { id: string; street: string }, what: string): void {
  authorize(caller, action, { communityId: community.id, street: community.street, what });
}
