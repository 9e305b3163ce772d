import { randomUUID } from 'node:crypto';
import { api, communityWithOrganizer, register, type Session } from '../support/api';

describe('points through the gateway: awards, caps, tiers, statements, leaderboard', () => {
  let organizer: Session;
  let communityId: string;
  let resident: Session;
  let neighbour: Session;

  beforeAll(async () => {
    ({ organizer, communityId } = await communityWithOrganizer());
    resident = await register(communityId, '李阿姨');
    neighbour = await register(communityId, '王大爷');
  });

  const award = (userId: string, points: number, key: string | undefined = randomUUID(), category = 'report') =>
    api('POST', '/api/v1/points/awards', {
      token: organizer.token,
      body: { userId, points, reason: '采纳居民反映的楼道照明问题', category },
      ...(key ? { headers: { 'idempotency-key': key } } : {}),
    });
  const balance = async (session: Session) => (await api('GET', '/api/v1/points/balance', { token: session.token })).body;

  it('awards points once per Idempotency-Key', async () => {
    const key = randomUUID();
    const first = await award(resident.userId, 8, key);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ userId: resident.userId, points: 8, category: 'report' });
    const again = await award(resident.userId, 8, key);
    expect(again.status).toBe(201);
    expect(again.body.transferId).toBe(first.body.transferId);
    expect(await balance(resident)).toMatchObject({ points: 8, lifetimePoints: 8 });
  });

  it('refuses awards from residents, to strangers, and with bad input', async () => {
    const other = await communityWithOrganizer();
    const stranger = await register(other.communityId);
    expect((await award(stranger.userId, 5)).status).toBe(404);
    const byResident = await api('POST', '/api/v1/points/awards', { token: resident.token, body: { userId: neighbour.userId, points: 5, reason: 'x' } });
    expect(byResident.status).toBe(403);
    const bad = await api('POST', '/api/v1/points/awards', { token: organizer.token, body: { userId: neighbour.userId, points: 0, reason: '' } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((error: { path: string }) => error.path)).toEqual(expect.arrayContaining(['points', 'reason']));
    const badKey = await award(neighbour.userId, 5, 'short');
    expect(badKey.status).toBe(400);
    expect(badKey.body.errors[0].path).toBe('Idempotency-Key');
    expect(await balance(neighbour)).toMatchObject({ points: 0 });
  });

  it('applies the community’s daily cap and star thresholds', async () => {
    const rules = await api('PUT', '/api/v1/points/rules', {
      token: organizer.token,
      body: { defaultPointsPerHour: 10, reportPoints: 5, discussionPoints: 2, dailyCapPoints: 20, monthlyCapPoints: 0, starThresholds: [5, 10, 15, 20, 100] },
    });
    expect(rules.status).toBe(200);
    expect(rules.body).toMatchObject({ communityId, dailyCapPoints: 20 });
    expect((await api('GET', '/api/v1/points/rules', { token: neighbour.token })).body.starThresholds).toEqual([5, 10, 15, 20, 100]);

    expect((await award(neighbour.userId, 15)).body.points).toBe(15);
    expect((await award(neighbour.userId, 15)).body.points).toBe(5);
    const capped = await award(neighbour.userId, 1);
    expect(capped.status).toBe(422);
    expect(capped.body.code).toBe('earning_cap_reached');
    expect(await balance(neighbour)).toMatchObject({ points: 20, lifetimePoints: 20, starTier: 4 });

    const unordered = await api('PUT', '/api/v1/points/rules', {
      token: organizer.token,
      body: { defaultPointsPerHour: 10, reportPoints: 5, discussionPoints: 2, dailyCapPoints: 0, monthlyCapPoints: 0, starThresholds: [5, 4, 15, 20, 100] },
    });
    expect(unordered.status).toBe(400);
    const byResident = await api('PUT', '/api/v1/points/rules', { token: resident.token, body: rules.body });
    expect(byResident.status).toBe(403);
  });

  it('ranks the community by points earned, with names', async () => {
    const board = await api('GET', '/api/v1/points/leaderboard?period=all', { token: resident.token });
    expect(board.status).toBe(200);
    expect(board.body.items.slice(0, 2)).toEqual([
      { userId: neighbour.userId, name: '王大爷', points: 20, rank: 1 },
      { userId: resident.userId, name: '李阿姨', points: 8, rank: 2 },
    ]);
    const month = await api('GET', '/api/v1/points/leaderboard?period=month', { token: resident.token });
    expect(month.body.items[0]).toMatchObject({ userId: neighbour.userId, points: 20 });
    expect(month.body.from).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect((await api('GET', '/api/v1/points/leaderboard?period=decade', { token: resident.token })).status).toBe(400);
  });

  it('shows a statement with the balance after each movement, and lets organizers read members', async () => {
    const statement = await api('GET', '/api/v1/points/statement?asset=POINTS', { token: neighbour.token });
    expect(statement.status).toBe(200);
    expect(
      statement.body.items.map((item: { amount: number; balanceAfter: number; direction: string }) => [item.direction, item.amount, item.balanceAfter]),
    ).toEqual([
      ['credit', 5, 20],
      ['credit', 15, 15],
    ]);
    expect(statement.body.items[0].reason).toBe('report_reward');
    expect(statement.body.nextCursor).toBeNull();

    const asOrganizer = await api('GET', `/api/v1/points/balance?userId=${neighbour.userId}`, { token: organizer.token });
    expect(asOrganizer.body).toMatchObject({ points: 20 });
    const byNeighbour = await api('GET', `/api/v1/points/balance?userId=${resident.userId}`, { token: neighbour.token });
    expect(byNeighbour.status).toBe(403);
    const other = await communityWithOrganizer();
    const foreign = await api('GET', `/api/v1/points/statement?userId=${neighbour.userId}`, { token: other.organizer.token });
    expect(foreign.status).toBe(404);
    expect((await api('GET', '/api/v1/points/statement?asset=GOLD', { token: neighbour.token })).status).toBe(400);
  });
});
