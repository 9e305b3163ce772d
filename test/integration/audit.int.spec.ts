import { api, approvedVolunteer, communityWithOrganizer, completedActivity, refresh, register, type Session, uniqueName } from '../support/api';
import { publishedActivity, streetAdminOfNewStreet } from '../support/people';

interface Entry {
  id: string;
  at: string;
  action: string;
  actorUserId: string;
  communityId: string | null;
  targetId: string;
  requestId: string;
  detail: Record<string, unknown>;
}

/** Every entry a reader sees for a query, following the cursor, newest first. */
async function readAll(token: string, query: string, limit = 2): Promise<Entry[]> {
  const entries: Entry[] = [];
  let cursor = '';
  for (let page = 0; page < 50; page += 1) {
    const response = await api('GET', `/api/v1/audit?limit=${limit}&${query}${cursor === '' ? '' : `&cursor=${cursor}`}`, { token });
    expect(response.status).toBe(200);
    entries.push(...(response.body.items as Entry[]));
    if (response.body.nextCursor === null) return entries;
    cursor = response.body.nextCursor as string;
  }
  throw new Error('too many pages');
}

describe('the audit log of privileged actions', () => {
  let admin: Session;
  let organizer: Session;
  let communityId: string;
  let volunteer: Session;
  let awardRequestId: string;
  let activityAttendance: string;
  let shopId: string;

  beforeAll(async () => {
    ({ admin, organizer, communityId } = await communityWithOrganizer());
    volunteer = await approvedVolunteer(communityId, organizer);

    const award = await api('POST', '/api/v1/points/awards', {
      token: organizer.token,
      body: { userId: volunteer.userId, points: 7, reason: '参加议事会', category: 'discussion' },
      headers: { 'x-request-id': `audit-award-${Date.now()}` },
    });
    expect(award.status).toBe(201);
    awardRequestId = award.headers.get('x-request-id') ?? '';

    const rules = (await api('GET', '/api/v1/points/rules', { token: organizer.token })).body;
    const { communityId: _community, ...rulesBody } = rules;
    expect((await api('PUT', '/api/v1/points/rules', { token: organizer.token, body: { ...rulesBody, reportPoints: 9 } })).status).toBe(200);

    activityAttendance = await completedActivity(organizer, volunteer, { minutes: 45, pointsPerHour: 10 });

    const owner = await register(communityId, '店主');
    const shop = await api('POST', '/api/v1/shops', { token: organizer.token, body: { name: uniqueName('爱心超市'), ownerUserId: owner.userId } });
    expect(shop.status).toBe(201);
    shopId = shop.body.id;
    expect((await api('POST', `/api/v1/shops/${shopId}/settlements`, { token: organizer.token, body: {} })).status).toBe(201);
  });

  it('records each privileged action, readable by the street admin newest first, page by page', async () => {
    const entries = await readAll(admin.token, `communityId=${communityId}`);
    const actionsSeen = entries.map((entry) => entry.action);
    for (const action of ['role.grant', 'volunteer.approve', 'points.award', 'points.rules.write', 'activity.complete', 'shop.create', 'shop.settle']) {
      expect(actionsSeen).toContain(action);
    }
    expect(new Set(entries.map((entry) => entry.id)).size).toBe(entries.length);
    const times = entries.map((entry) => entry.at);
    expect([...times].sort().reverse()).toEqual(times);
    expect(entries.every((entry) => entry.communityId === communityId)).toBe(true);

    const award = entries.find((entry) => entry.action === 'points.award');
    expect(award).toMatchObject({ actorUserId: organizer.userId, targetId: volunteer.userId, requestId: awardRequestId });
    expect(award?.detail).toMatchObject({ points: 7, category: 'discussion', reason: '参加议事会' });

    const [activityId] = activityAttendance.split(':');
    const completion = entries.find((entry) => entry.action === 'activity.complete');
    expect(completion).toMatchObject({ targetId: activityId });
    expect(completion?.detail.corrections).toEqual([{ userId: volunteer.userId, minutes: 45, reason: '按签到表核定' }]);

    // The organizer role granted when the community was made, by the street admin.
    const grant = entries.find((entry) => entry.action === 'role.grant');
    expect(grant).toMatchObject({ actorUserId: admin.userId, detail: { role: 'organizer' } });
    expect(entries.find((entry) => entry.action === 'shop.settle')).toMatchObject({ targetId: shopId });
  });

  it('records manual check-ins by a street admin in the community acted in, and filters by action and period', async () => {
    const now = Date.now();
    const activityId = await publishedActivity(organizer, '手工签到');
    expect((await api('POST', `/api/v1/activities/${activityId}/signups`, { token: volunteer.token })).status).toBe(201);
    const manual = await api('POST', `/api/v1/activities/${activityId}/attendances`, {
      token: admin.token,
      body: { userId: volunteer.userId, action: 'check_in', reason: '手机没电' },
    });
    expect(manual.status).toBe(201);

    const records = await readAll(admin.token, `communityId=${communityId}&action=attendance.record&from=${new Date(now - 1000).toISOString()}`, 10);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      actorUserId: admin.userId,
      communityId,
      targetId: activityId,
      detail: { userId: volunteer.userId, action: 'check_in', reason: '手机没电' },
    });

    const later = new Date(Date.now() + 3600_000).toISOString();
    expect(await readAll(admin.token, `communityId=${communityId}&from=${later}`)).toEqual([]);
    expect((await readAll(admin.token, `communityId=${communityId}&to=${new Date(now).toISOString()}`, 50)).map((entry) => entry.action)).not.toContain(
      'attendance.record',
    );
  });

  it('lets organizers read their own community only, and refuses residents', async () => {
    const own = await readAll(organizer.token, '', 50);
    expect(own.length).toBeGreaterThan(0);
    expect(own.every((entry) => entry.communityId === communityId)).toBe(true);

    const resident = await register(communityId, '好奇的居民');
    expect((await api('GET', '/api/v1/audit', { token: resident.token })).status).toBe(403);
    expect((await api('GET', '/api/v1/audit')).status).toBe(401);

    const other = await communityWithOrganizer();
    expect((await api('GET', `/api/v1/audit?communityId=${communityId}`, { token: other.organizer.token })).status).toBe(404);
    const theirs = await readAll(other.organizer.token, '', 50);
    expect(theirs.filter((entry) => entry.communityId === communityId)).toEqual([]);
  });

  it('shows another street’s admin nothing of it', async () => {
    const otherAdmin = await streetAdminOfNewStreet();
    const street = otherAdmin.street;

    expect((await api('GET', `/api/v1/audit?communityId=${communityId}`, { token: otherAdmin.token })).status).toBe(404);
    const before = await readAll(otherAdmin.token, '', 100);
    expect(before.filter((entry) => entry.communityId === communityId)).toEqual([]);

    // Their own street's actions they do see.
    const community = await api('POST', '/api/v1/communities', { token: otherAdmin.token, body: { name: uniqueName('社区'), street } });
    expect(community.status).toBe(201);
    const member = await register(community.body.id, '新组织者');
    expect((await api('POST', `/api/v1/users/${member.userId}/roles`, { token: otherAdmin.token, body: { role: 'organizer' } })).status).toBe(200);
    await refresh(member);
    const after = await readAll(otherAdmin.token, 'action=role.grant', 100);
    expect(after.map((entry) => entry.targetId)).toEqual([member.userId]);
  });

  it('refuses a cursor it did not make', async () => {
    const response = await api('GET', '/api/v1/audit?cursor=bm90LWEtY3Vyc29y', { token: admin.token });
    expect(response.status).toBe(400);
  });
});
