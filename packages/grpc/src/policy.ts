import { notFound, permissionDenied } from '@lovepoints/errors';
import { type Caller, requireCaller, type Role, roles } from './caller';

/**
 * How far a role's permission for an action reaches, judged on the record acted on:
 * - `any`: no limit (nothing of one community is involved);
 * - `self`: the caller's own records; anybody else's are invisible (404);
 * - `owner`: records the caller owns (a shop's shopkeeper) among those of their community; another
 *   owner's record in the same community is refused (403), another community's is invisible (404);
 * - `community`: records of the caller's own community; another community's are invisible (404);
 * - `street`: records of any community of the caller's street (street admins); others are invisible.
 */
export const scopes = ['any', 'self', 'owner', 'community', 'street'] as const;
export type Scope = (typeof scopes)[number];

/** The roles that may take an action, each with how far it reaches. A role not named may not. */
export type Grants = Partial<Record<Role, Scope>>;

/** Every role, each within its own community (street admins: within their street). */
const everyMember = (scope: 'self' | 'community'): Grants => ({
  resident: scope,
  volunteer: scope,
  shopkeeper: scope,
  organizer: scope,
  street_admin: scope === 'community' ? 'street' : scope,
});
/** Community staff: organizers in their community, street admins in their street. */
const staff: Grants = { organizer: 'community', street_admin: 'street' };
const organizers: Grants = { organizer: 'community' };

/**
 * Authorization in one place: every action a signed-in caller can take, with the roles allowed
 * and their scope. The gateway refuses a route whose action the caller's roles are not granted
 * (403) before calling a service, and the services check the same table again with the record in
 * hand, so a call that bypasses the gateway meets the same rules. Domain rules that are not a
 * role or a community (the volunteer serving THIS order, a linked relative, which roles an
 * organizer may grant) stay with the services that know them.
 */
export const policy = {
  'account.manage': everyMember('self'),
  'community.create': { street_admin: 'street' },
  'role.grant': staff,
  'volunteer.apply': everyMember('self'),
  'volunteer.approve': staff,
  'place.read': everyMember('community'),
  'place.manage': staff,
  'activity.read': everyMember('community'),
  'activity.create': organizers,
  'activity.manage': staff,
  'activity.signup': { volunteer: 'community' },
  'attendance.check': { volunteer: 'community' },
  'attendance.record': staff,
  'activity.complete': staff,
  'team.read': everyMember('community'),
  'team.create': organizers,
  'team.lead': organizers,
  /** Joining and leaving oneself; a team's leader and organizers add and remove others (a domain rule). */
  'team.membership': everyMember('community'),
  'report.file': everyMember('self'),
  'report.read': { resident: 'self', volunteer: 'self', shopkeeper: 'self', organizer: 'community', street_admin: 'street' },
  'report.decide': staff,
  'points.read': everyMember('self'),
  'points.read_member': staff,
  'points.community.read': everyMember('community'),
  'points.award': organizers,
  'points.rules.write': organizers,
  'shop.read': everyMember('community'),
  'shop.create': organizers,
  'shop.manage': organizers,
  'shop.manage_items': { shopkeeper: 'owner' },
  'shop.sell': { shopkeeper: 'owner' },
  'shop.settlement.read': { shopkeeper: 'owner', organizer: 'community' },
  'shop.settle': organizers,
  'redemption.create': everyMember('self'),
  'redemption.manage': { resident: 'self', volunteer: 'self', shopkeeper: 'self', organizer: 'community', street_admin: 'self' },
  'timebank.request.create': everyMember('self'),
  'timebank.request.read': everyMember('community'),
  'timebank.order.accept': { volunteer: 'community' },
  'timebank.order.assign': organizers,
  /** Decline, start and complete: the volunteer serving the order (a domain rule), or an organizer completing it. */
  'timebank.order.serve': everyMember('community'),
  /** Confirm, dispute and rate: the beneficiary's side (a domain rule: requester, beneficiary, linked relatives). */
  'timebank.order.follow_up': everyMember('community'),
  'timebank.order.cancel': everyMember('community'),
  'timebank.dispute.resolve': organizers,
  'timebank.reputation.read': everyMember('community'),
  'timebank.family': everyMember('self'),
  'timebank.donate': everyMember('self'),
  'timebank.pool.read': organizers,
  'timebank.beneficiary.write': organizers,
  'audit.read': staff,
} as const satisfies Record<string, Grants>;

export type Action = keyof typeof policy;
export const actions = Object.keys(policy) as Action[];

export function isAction(name: string): name is Action {
  return Object.hasOwn(policy, name);
}

/** The roles granted an action, in the order of `roles`. */
export function rolesFor(action: Action): Role[] {
  const grants: Grants = policy[action];
  return roles.filter((role) => grants[role] !== undefined);
}

/** Whether a caller holding these roles may take the action at all (before any record is looked at). */
export function allows(callerRoles: readonly Role[], action: Action): boolean {
  const grants: Grants = policy[action];
  return callerRoles.some((role) => grants[role] !== undefined);
}

/** The record an action concerns, as far as tenancy goes. */
export interface PolicyTarget {
  communityId?: string;
  street?: string;
  /** Whose record it is (a shop's owner, an order's resident). */
  ownerUserId?: string;
  /** How a refusal names the record: "The activity was not found." */
  what?: string;
}

/** A member sees their own community's records; a street admin every community of their street. */
function seesCommunity(caller: Caller, target: PolicyTarget): boolean {
  if (target.communityId === undefined && target.street === undefined) return true;
  if (caller.roles.includes('street_admin') && caller.street !== '' && target.street === caller.street) return true;
  return caller.communityId !== '' && target.communityId === caller.communityId;
}

function withinScope(caller: Caller, scope: Scope, target: PolicyTarget): boolean {
  switch (scope) {
    case 'any':
      return true;
    case 'self':
      return (target.ownerUserId === undefined || target.ownerUserId === caller.userId) && seesCommunity(caller, target);
    case 'owner':
      return target.ownerUserId === caller.userId && seesCommunity(caller, target);
    case 'community':
      return target.communityId === undefined || (caller.communityId !== '' && target.communityId === caller.communityId);
    case 'street':
      return target.street === undefined ? target.communityId === undefined : caller.street !== '' && target.street === caller.street;
  }
}

/**
 * The caller, if they may take the action on the target: UNAUTHENTICATED without a caller,
 * PERMISSION_DENIED when no role of theirs is granted the action, NOT_FOUND when the target lies
 * outside every scope they hold (records of another community are invisible), and
 * PERMISSION_DENIED for a record of their own community owned by someone else where ownership
 * is what they are granted (another shopkeeper's shop). Without a target only the roles count.
 */
export function authorize(caller: Caller | undefined, action: Action, target?: PolicyTarget): Caller {
  const known = requireCaller(caller);
  const grants: Grants = policy[action];
  const held = known.roles.flatMap((role) => (grants[role] === undefined ? [] : [grants[role]]));
  if (held.length === 0) throw permissionDenied(`This needs the role ${rolesFor(action).join(' or ')}.`);
  if (target === undefined || held.some((scope) => withinScope(known, scope, target))) return known;
  if (held.includes('owner') && seesCommunity(known, target)) throw permissionDenied('Only the owner can do this.');
  throw notFound(target.what ?? 'The record');
}
