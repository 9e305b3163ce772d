import { type Action, actions, allows, type Role, rolesFor } from '@lovepoints/grpc';
import { api, type ApiResponse, approvedVolunteer, communityWithOrganizer, refresh, register, type Session, uniqueName } from '../support/api';
import { publishedActivity, streetAdminOfNewStreet } from '../support/people';

/** One call that stands for an action; `foreign` calls concern records of community A. */
interface Probe {
  method: string;
  path: string;
  body?: unknown;
  /** The path is about a record of community A, so a caller of another community or street gets 404. */
  foreign?: boolean;
}

const site = { lat: 31.2304, lng: 121.4737 };
const unknownId = 'no-such-record';

/** Callers by the role that names them; each also holds what registering gave them. */
type Name = 'resident' | 'volunteer' | 'organizer' | 'shopkeeper' | 'street_admin';
const names: Name[] = ['resident', 'volunteer', 'organizer', 'shopkeeper', 'street_admin'];

describe('authorization: a role × endpoint matrix derived from the policy table', () => {
  const callers = {} as Record<Name, Session & { roles: Role[] }>;
  let probes: Record<Action, Probe>;
  let organizerB: Session;
  let shopkeeperB: Session;
  let otherStreetAdmin: Session;

  async function createdId(response: Promise<ApiResponse>, what: string): Promise<string> {
    const answer = await response;
    if (answer.status !== 201) throw new Error(`${what} failed: ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body.id as string;
  }

  /** A resident of the community made shopkeeper of a new shop by its organizer. */
  async function shopWithKeeper(communityId: string, organizer: Session): Promise<{ shopId: string; keeper: Session }> {
    const owner = await register(communityId, '店主');
    const shopId = await createdId(
      api('POST', '/api/v1/shops', { token: organizer.token, body: { name: uniqueName('爱心超市'), ownerUserId: owner.userId } }),
      'shop',
    );
    return { shopId, keeper: await refresh(owner) };
  }

  beforeAll(async () => {
    const a = await communityWithOrganizer();
    const b = await communityWithOrganizer();
    organizerB = b.organizer;
    const { shopId, keeper } = await shopWithKeeper(a.communityId, a.organizer);
    shopkeeperB = (await shopWithKeeper(b.communityId, b.organizer)).keeper;
    const sessions: Record<Name, Session> = {
      resident: await register(a.communityId, '居民'),
      volunteer: await approvedVolunteer(a.communityId, a.organizer),
      organizer: a.organizer,
      shopkeeper: keeper,
      street_admin: a.admin,
    };
    for (const name of names) {
      const me = await api('GET', '/api/v1/me', { token: sessions[name].token });
      callers[name] = { ...sessions[name], roles: me.body.roles as Role[] };
    }

    otherStreetAdmin = await streetAdminOfNewStreet();

    const organizer = a.organizer;
    const activityId = await publishedActivity(organizer);
    const completableId = await publishedActivity(organizer);
    const applicant = await register(a.communityId, '申请人');
    const profileId = await createdId(api('POST', '/api/v1/volunteers', { token: applicant.token, body: { realName: '王五', skills: [] } }), 'profile');
    const reportId = await createdId(
      api('POST', '/api/v1/reports', { token: callers.resident.token, body: { category: 'safety', text: '路灯坏了' } }),
      'report',
    );
    const rules = (await api('GET', '/api/v1/points/rules', { token: organizer.token })).body;
    const { communityId: _community, ...rulesBody } = rules;
    const grantee = await register(a.communityId, '被授权人');

    probes = {
      'account.manage': { method: 'GET', path: '/api/v1/me' },
      'community.create': { method: 'POST', path: '/api/v1/communities', body: { name: uniqueName('社区'), street: '示范街道' } },
      'role.grant': { method: 'POST', path: `/api/v1/users/${grantee.userId}/roles`, body: { role: 'volunteer' }, foreign: true },
      'volunteer.apply': { method: 'POST', path: '/api/v1/volunteers', body: { realName: '李四', skills: [] } },
      'volunteer.approve': { method: 'POST', path: `/api/v1/volunteers/${profileId}/approve`, foreign: true },
      'place.read': { method: 'GET', path: `/api/v1/communities/${a.communityId}/grids`, foreign: true },
      'place.manage': { method: 'POST', path: `/api/v1/communities/${a.communityId}/grids`, body: { name: uniqueName('网格') }, foreign: true },
      'activity.read': { method: 'GET', path: `/api/v1/activities/${activityId}`, foreign: true },
      'activity.create': {
        method: 'POST',
        path: '/api/v1/activities',
        body: {
          title: '矩阵新活动',
          category: 'cleaning',
          location: { ...site, radiusMeters: 100 },
          startAt: new Date(Date.now() + 86_400_000).toISOString(),
          endAt: new Date(Date.now() + 90_000_000).toISOString(),
          capacity: 5,
          pointsPerHour: 10,
        },
      },
      'activity.manage': { method: 'GET', path: `/api/v1/activities/${activityId}/checkin-code`, foreign: true },
      'activity.signup': { method: 'POST', path: `/api/v1/activities/${activityId}/signups`, foreign: true },
      'attendance.check': { method: 'POST', path: `/api/v1/activities/${activityId}/checkins`, body: { code: '000000', ...site }, foreign: true },
      'attendance.record': {
        method: 'POST',
        path: `/api/v1/activities/${activityId}/attendances`,
        body: { userId: callers.volunteer.userId, action: 'check_in', reason: '手机没电' },
        foreign: true,
      },
      'activity.complete': { method: 'POST', path: `/api/v1/activities/${completableId}/complete`, body: {}, foreign: true },
      'team.read': { method: 'GET', path: '/api/v1/teams' },
      'team.create': { method: 'POST', path: '/api/v1/teams', body: { name: uniqueName('巡逻队'), leaderUserId: callers.volunteer.userId } },
      'team.membership': { method: 'POST', path: `/api/v1/teams/${unknownId}/members`, body: {} },
      'team.lead': { method: 'PATCH', path: `/api/v1/teams/${unknownId}`, body: { leaderUserId: callers.volunteer.userId } },
      'report.file': { method: 'POST', path: '/api/v1/reports', body: { category: 'environment', text: '垃圾桶满了' } },
      'report.read': { method: 'GET', path: '/api/v1/reports' },
      'report.decide': { method: 'POST', path: `/api/v1/reports/${reportId}/reject`, body: { reason: '已处理' }, foreign: true },
      'points.read': { method: 'GET', path: '/api/v1/points/balance' },
      'points.read_member': { method: 'GET', path: `/api/v1/points/balance?userId=${grantee.userId}`, foreign: true },
      'points.community.read': { method: 'GET', path: '/api/v1/points/leaderboard' },
      'points.award': { method: 'POST', path: '/api/v1/points/awards', body: { userId: grantee.userId, points: 1, reason: '参加议事会' }, foreign: true },
      'points.rules.write': { method: 'PUT', path: '/api/v1/points/rules', body: rulesBody },
      'shop.read': { method: 'GET', path: '/api/v1/shops' },
      'shop.create': { method: 'POST', path: '/api/v1/shops', body: { name: uniqueName('新超市'), ownerUserId: grantee.userId } },
      'shop.manage': { method: 'PATCH', path: `/api/v1/shops/${shopId}`, body: { status: 'open' }, foreign: true },
      'shop.manage_items': {
        method: 'POST',
        path: `/api/v1/shops/${shopId}/items`,
        body: { name: uniqueName('鸡蛋'), pricePoints: 5, stock: 3 },
        foreign: true,
      },
      'shop.sell': { method: 'POST', path: `/api/v1/shops/${shopId}/pickups`, body: { pickupCode: '000000000000' }, foreign: true },
      'shop.settlement.read': { method: 'GET', path: `/api/v1/shops/${shopId}/settlement`, foreign: true },
      'shop.settle': { method: 'POST', path: `/api/v1/shops/${shopId}/settlements`, body: {}, foreign: true },
      'redemption.create': { method: 'POST', path: '/api/v1/redemptions', body: { itemId: unknownId, quantity: 1 } },
      'redemption.manage': { method: 'GET', path: '/api/v1/redemptions' },
      'timebank.request.create': {
        method: 'POST',
        path: '/api/v1/timebank/requests',
        body: { category: 'companionship', description: '陪老人聊天', startAt: new Date(Date.now() + 86_400_000).toISOString(), minutes: 60 },
      },
      'timebank.request.read': { method: 'GET', path: '/api/v1/timebank/requests' },
      'timebank.order.accept': { method: 'POST', path: `/api/v1/timebank/requests/${unknownId}/accept` },
      'timebank.order.assign': { method: 'POST', path: `/api/v1/timebank/requests/${unknownId}/assign`, body: { volunteerUserId: callers.volunteer.userId } },
      'timebank.order.serve': { method: 'POST', path: `/api/v1/timebank/requests/${unknownId}/start` },
      'timebank.order.follow_up': { method: 'POST', path: `/api/v1/timebank/requests/${unknownId}/confirm` },
      'timebank.order.cancel': { method: 'POST', path: `/api/v1/timebank/requests/${unknownId}/cancel`, body: { reason: '不需要了' } },
      'timebank.dispute.resolve': { method: 'POST', path: `/api/v1/timebank/requests/${unknownId}/resolve`, body: { decision: 'cancel', note: '核实后取消' } },
      'timebank.reputation.read': { method: 'GET', path: `/api/v1/timebank/volunteers/${callers.volunteer.userId}` },
      'timebank.family': { method: 'GET', path: '/api/v1/timebank/family-links' },
      'timebank.donate': { method: 'POST', path: '/api/v1/timebank/donations', body: { minutes: 1 } },
      'timebank.pool.read': { method: 'GET', path: '/api/v1/timebank/pool' },
      'timebank.beneficiary.write': { method: 'PUT', path: `/api/v1/timebank/beneficiaries/${grantee.userId}`, body: { poolEligible: false }, foreign: true },
      'audit.read': { method: 'GET', path: `/api/v1/audit?communityId=${a.communityId}`, foreign: true },
    };
  });

  const call = (probe: Probe, token?: string) =>
    api(probe.method, probe.path, { ...(token === undefined ? {} : { token }), ...(probe.body === undefined ? {} : { body: probe.body }) });

  it('has a probe for every action of the table', () => {
    expect(actions.filter((action) => probes[action] === undefined)).toEqual([]);
  });

  it('answers every action: 401 anonymous, 403 for roles not granted, neither for roles granted', async () => {
    const seen: string[] = [];
    const expected: string[] = [];
    for (const action of actions) {
      const probe = probes[action];
      seen.push(`${action} anonymous ${(await call(probe)).status === 401 ? 'refused 401' : 'let in'}`);
      expected.push(`${action} anonymous refused 401`);
      for (const name of names) {
        const granted = allows(callers[name].roles, action);
        const response = await call(probe, callers[name].token);
        const verdict = response.status === 403 ? 'forbidden' : response.status === 401 || response.status >= 500 ? `broken ${response.status}` : 'allowed';
        seen.push(`${action} ${name} ${verdict}`);
        expected.push(`${action} ${name} ${granted ? 'allowed' : 'forbidden'}`);
      }
    }
    expect(seen).toEqual(expected);
  });

  it('hides community A’s records from granted callers of another community or street (404)', async () => {
    const seen: string[] = [];
    const expected: string[] = [];
    const outsiders: [Role, Session][] = [
      ['organizer', organizerB],
      ['shopkeeper', shopkeeperB],
      ['street_admin', otherStreetAdmin],
    ];
    for (const action of actions) {
      const probe = probes[action];
      if (probe.foreign !== true) continue;
      for (const [role, session] of outsiders) {
        if (!rolesFor(action).includes(role)) continue;
        seen.push(`${action} ${role} ${(await call(probe, session.token)).status}`);
        expected.push(`${action} ${role} 404`);
      }
    }
    expect(expected.length).toBeGreaterThan(10);
    expect(seen).toEqual(expected);
  });
});
