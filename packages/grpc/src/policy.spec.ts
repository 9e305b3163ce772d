import { DomainError } from '@lovepoints/errors';
import { type Caller, roles } from './caller';
import { actions, allows, authorize, type Grants, policy, rolesFor, scopes } from './policy';

const caller = (overrides: Partial<Caller>): Caller => ({ userId: 'u1', roles: ['resident'], communityId: 'c1', street: 's1', ...overrides });
const refusal = (run: () => unknown): string | undefined => {
  try {
    run();
    return undefined;
  } catch (error) {
    return error instanceof DomainError ? error.kind : 'other';
  }
};

describe('the policy table', () => {
  it('grants only known roles, each with a known scope, and every action to someone', () => {
    for (const action of actions) {
      const grants: Grants = policy[action];
      expect({ action, unknownRoles: Object.keys(grants).filter((role) => !(roles as readonly string[]).includes(role)) }).toEqual({
        action,
        unknownRoles: [],
      });
      for (const scope of Object.values(grants)) expect(scopes).toContain(scope);
      expect(rolesFor(action).length).toBeGreaterThan(0);
    }
  });

  it('names actions as <noun>.<verb>, lowercase', () => {
    for (const action of actions) expect(action).toMatch(/^[a-z_]+(\.[a-z_]+)+$/);
  });

  it('keeps the roles the API contract names for its privileged endpoints', () => {
    expect(rolesFor('community.create')).toEqual(['street_admin']);
    expect(rolesFor('role.grant')).toEqual(['organizer', 'street_admin']);
    expect(rolesFor('points.award')).toEqual(['organizer']);
    expect(rolesFor('shop.manage_items')).toEqual(['shopkeeper']);
    expect(rolesFor('audit.read')).toEqual(['organizer', 'street_admin']);
    expect(allows(['resident', 'volunteer'], 'activity.signup')).toBe(true);
    expect(allows(['resident'], 'activity.signup')).toBe(false);
  });
});

describe('authorize', () => {
  const organizer = caller({ roles: ['resident', 'organizer'] });
  const streetAdmin = caller({ userId: 'admin', roles: ['street_admin'], communityId: '' });

  it('needs a caller, then one of the granted roles', () => {
    expect(refusal(() => authorize(undefined, 'activity.read'))).toBe('unauthenticated');
    expect(refusal(() => authorize(caller({}), 'activity.create'))).toBe('permission_denied');
    expect(authorize(organizer, 'activity.create').userId).toBe('u1');
  });

  it('hides records of another community (404), also behind a role the caller holds', () => {
    expect(refusal(() => authorize(organizer, 'activity.manage', { communityId: 'c1', street: 's1' }))).toBeUndefined();
    expect(refusal(() => authorize(organizer, 'activity.manage', { communityId: 'c2', street: 's1' }))).toBe('not_found');
    // The role is checked first: a resident learns nothing more about a foreign record than about their own.
    expect(refusal(() => authorize(caller({}), 'activity.manage', { communityId: 'c2', street: 's1' }))).toBe('permission_denied');
  });

  it('lets street admins act in every community of their street only', () => {
    expect(refusal(() => authorize(streetAdmin, 'activity.manage', { communityId: 'c9', street: 's1' }))).toBeUndefined();
    expect(refusal(() => authorize(streetAdmin, 'activity.manage', { communityId: 'c9', street: 's2' }))).toBe('not_found');
    expect(refusal(() => authorize(streetAdmin, 'activity.manage', { communityId: 'c9' }))).toBe('not_found');
    expect(refusal(() => authorize(streetAdmin, 'points.award', { communityId: 'c1', street: 's1' }))).toBe('permission_denied');
  });

  it('keeps owners to their own records: another owner’s in the community is 403, another community’s 404', () => {
    const shopkeeper = caller({ roles: ['resident', 'shopkeeper'] });
    expect(refusal(() => authorize(shopkeeper, 'shop.manage_items', { communityId: 'c1', ownerUserId: 'u1' }))).toBeUndefined();
    expect(refusal(() => authorize(shopkeeper, 'shop.manage_items', { communityId: 'c1', ownerUserId: 'u2' }))).toBe('permission_denied');
    expect(refusal(() => authorize(shopkeeper, 'shop.manage_items', { communityId: 'c2', ownerUserId: 'u1' }))).toBe('not_found');
    // Organizers read any shop's settlement of their community; shopkeepers only their own.
    expect(refusal(() => authorize(organizer, 'shop.settlement.read', { communityId: 'c1', ownerUserId: 'u2' }))).toBeUndefined();
  });

  it('keeps self-scoped records invisible to other members, but not to staff granted the community', () => {
    expect(refusal(() => authorize(caller({}), 'report.read', { communityId: 'c1', ownerUserId: 'u2' }))).toBe('not_found');
    expect(refusal(() => authorize(caller({}), 'report.read', { communityId: 'c1', ownerUserId: 'u1' }))).toBeUndefined();
    expect(refusal(() => authorize(organizer, 'report.read', { communityId: 'c1', ownerUserId: 'u2' }))).toBeUndefined();
  });
});
