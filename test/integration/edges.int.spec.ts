import mongoose from 'mongoose';
import { createClients, callUnary } from '@lovepoints/grpc';
import { DomainError } from '@lovepoints/errors';
import { api, communityWithOrganizer, register, uniquePhone } from '../support/api';
import { platform } from '../support/platform';

describe('bad input is refused with the field and the reason', () => {
  it('names the bad fields of a register body (400 problem+json)', async () => {
    const response = await api('POST', '/api/v1/auth/register', { body: { phone: '12345', password: 'short', name: '', communityId: 'x' } });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(response.body).toMatchObject({ status: 400, title: 'Invalid input' });
    const paths = response.body.errors.map((error: { path: string }) => error.path);
    expect(paths).toEqual(expect.arrayContaining(['phone', 'password', 'name']));
  });

  it('refuses a body that is not JSON with 400', async () => {
    const response = await api('POST', '/api/v1/auth/login', { rawBody: '{"phone": ' });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('malformed_body');
  });

  it('refuses an oversize body with 413', async () => {
    const response = await api('POST', '/api/v1/auth/login', { body: { phone: '13800000000', password: 'x'.repeat(200_000) } });
    expect(response.status).toBe(413);
  });

  it('refuses MongoDB operators where a value belongs', async () => {
    const response = await api('POST', '/api/v1/auth/login', { body: { phone: { $gt: '' }, password: { $ne: null } } });
    expect(response.status).toBe(400);
    expect(response.body.errors.map((error: { path: string }) => error.path)).toEqual(expect.arrayContaining(['phone', 'password']));
  });

  it('registers into a real community only', async () => {
    const response = await api('POST', '/api/v1/auth/register', {
      body: { phone: uniquePhone(), password: 'secret-password-1', name: '居民', communityId: 'no-such-community' },
    });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual([{ path: 'communityId', message: 'unknown community' }]);
  });

  it('ignores a role smuggled into a register body', async () => {
    const { communityId } = await communityWithOrganizer();
    const response = await api('POST', '/api/v1/auth/register', {
      body: { phone: uniquePhone(), password: 'secret-password-1', name: '居民', communityId, roles: ['street_admin'] },
    });
    expect(response.status).toBe(201);
    expect(response.body.user.roles).toEqual(['resident']);
  });

  it('answers 401 without a token, with a forged one, and 403 for the wrong role', async () => {
    expect((await api('GET', '/api/v1/me')).status).toBe(401);
    const forged = await api('GET', '/api/v1/me', { token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl' });
    expect(forged.status).toBe(401);
    const { communityId } = await communityWithOrganizer();
    const resident = await register(communityId);
    const refused = await api('POST', '/api/v1/activities', { token: resident.token, body: {} });
    expect(refused.status).toBe(403);
  });

  it('answers 409 for a duplicate phone', async () => {
    const { communityId } = await communityWithOrganizer();
    const first = await register(communityId);
    const again = await api('POST', '/api/v1/auth/register', { body: { phone: first.phone, password: 'secret-password-1', name: '居民', communityId } });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('phone_taken');
  });

  it('hides another community’s activity behind 404', async () => {
    const first = await communityWithOrganizer();
    const second = await communityWithOrganizer();
    const created = await api('POST', '/api/v1/activities', {
      token: first.organizer.token,
      body: {
        title: '清扫',
        category: 'cleaning',
        location: { lat: 30, lng: 114, radiusMeters: 100 },
        startAt: '2030-01-01T08:00:00Z',
        endAt: '2030-01-01T10:00:00Z',
        capacity: 3,
        pointsPerHour: 5,
      },
    });
    expect(created.status).toBe(201);
    const foreign = await api('GET', `/api/v1/activities/${created.body.id}`, { token: second.organizer.token });
    expect(foreign.status).toBe(404);
  });

  it('answers a malformed gRPC request with INVALID_ARGUMENT naming the fields', async () => {
    const clients = createClients({ volunteer: platform.TEST_VOLUNTEER_GRPC_ADDRESS, points: '127.0.0.1:1', redeem: '127.0.0.1:1', timebank: '127.0.0.1:1' });
    try {
      const failure = await callUnary(clients.volunteer, 'registerUser', { phone: 'abc', password: '', name: '', communityId: '' }, { deadlineMs: 5000 }).catch(
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(DomainError);
      expect((failure as DomainError).kind).toBe('invalid_argument');
      expect((failure as DomainError).fieldErrors.map((error) => error.path)).toEqual(expect.arrayContaining(['phone', 'password', 'name', 'communityId']));
    } finally {
      Object.values(clients).forEach((client) => client.close());
    }
  });
});

describe('volunteer applications', () => {
  it('keeps only the last 4 characters of an ID number', async () => {
    const { communityId } = await communityWithOrganizer();
    const resident = await register(communityId);
    const bad = await api('POST', '/api/v1/volunteers', { token: resident.token, body: { realName: '张三', idNumber: '12345' } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe('idNumber');
    const applied = await api('POST', '/api/v1/volunteers', {
      token: resident.token,
      body: { realName: '张三', skills: ['medical'], idNumber: '11010519491231002x' },
    });
    expect(applied.status).toBe(201);
    expect(applied.body).toMatchObject({ status: 'pending', idNumberLast4: '002X' });
    expect(JSON.stringify(applied.body)).not.toContain('110105');
    // What is stored: a salted hash and the last four characters, never the number.
    const connection = await mongoose.createConnection(platform.TEST_MONGO_URL, { dbName: platform.TEST_VOLUNTEER_MONGO_DB }).asPromise();
    try {
      const stored = await connection.collection('volunteerprofiles').findOne({ userId: resident.userId });
      expect(stored?.idNumberLast4).toBe('002X');
      expect(String(stored?.idNumberHash)).toMatch(/^scrypt\$/);
      expect(JSON.stringify(stored)).not.toMatch(/1101051949/i);
    } finally {
      await connection.close();
    }
  });
});

describe('every service is wired through the gateway', () => {
  it('opens a shop in the supermarket and makes its owner a shopkeeper (gateway → redeem)', async () => {
    const { communityId, organizer } = await communityWithOrganizer();
    const owner = await register(communityId, '店主');
    const shop = await api('POST', '/api/v1/shops', { token: organizer.token, body: { name: '爱心超市一号店', ownerUserId: owner.userId } });
    expect(shop.status).toBe(201);
    expect(shop.body).toMatchObject({ name: '爱心超市一号店', ownerUserId: owner.userId, communityId, status: 'open' });
    const list = await api('GET', '/api/v1/shops', { token: owner.token });
    expect(list.status).toBe(200);
    expect(list.body.items.map((item: { id: string }) => item.id)).toContain(shop.body.id);
    const me = await api('POST', '/api/v1/auth/login', { body: { phone: owner.phone, password: owner.password } });
    expect(me.body.user.roles).toContain('shopkeeper');
  });

  it('refuses a shop owner from another community', async () => {
    const first = await communityWithOrganizer();
    const second = await communityWithOrganizer();
    const stranger = await register(second.communityId);
    const shop = await api('POST', '/api/v1/shops', { token: first.organizer.token, body: { name: '爱心超市', ownerUserId: stranger.userId } });
    expect(shop.status).toBe(404);
  });

  it('takes a time-bank order (gateway → timebank)', async () => {
    const { communityId } = await communityWithOrganizer();
    const elder = await register(communityId, '王奶奶');
    const startAt = new Date(Date.now() + 24 * 3600_000).toISOString();
    const order = await api('POST', '/api/v1/timebank/requests', {
      token: elder.token,
      body: { category: 'companionship', description: '陪同散步聊天', startAt, minutes: 60 },
    });
    expect(order.status).toBe(201);
    expect(order.body).toMatchObject({ status: 'open', requesterUserId: elder.userId, beneficiaryUserId: elder.userId, minutes: 60 });
    const open = await api('GET', '/api/v1/timebank/requests?status=open', { token: elder.token });
    expect(open.body.items.map((item: { id: string }) => item.id)).toContain(order.body.id);
    const past = await api('POST', '/api/v1/timebank/requests', {
      token: elder.token,
      body: { category: 'shopping', description: '买菜', startAt: '2020-01-01T00:00:00Z', minutes: 30 },
    });
    expect(past.status).toBe(400);
    expect(past.body.errors).toEqual([{ path: 'startAt', message: 'must be in the future' }]);
  });
});

describe('operations endpoints', () => {
  it('is healthy and ready', async () => {
    expect((await api('GET', '/healthz')).status).toBe(200);
    const ready = await api('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.checks).toEqual({ volunteer: 'up', points: 'up', redeem: 'up', timebank: 'up', mongodb: 'up' });
  });

  it('documents every route in the OpenAPI document', async () => {
    const { body } = await api('GET', '/api/openapi.json');
    expect(body.openapi).toBe('3.1.0');
    const expected = [
      ['post', '/api/v1/auth/register'],
      ['post', '/api/v1/auth/login'],
      ['post', '/api/v1/auth/refresh'],
      ['post', '/api/v1/auth/logout'],
      ['get', '/api/v1/me'],
      ['post', '/api/v1/communities'],
      ['get', '/api/v1/communities'],
      ['post', '/api/v1/users/{id}/roles'],
      ['post', '/api/v1/volunteers'],
      ['post', '/api/v1/volunteers/{id}/approve'],
      ['post', '/api/v1/activities'],
      ['get', '/api/v1/activities'],
      ['get', '/api/v1/activities/{id}'],
      ['post', '/api/v1/activities/{id}/publish'],
      ['post', '/api/v1/activities/{id}/signups'],
      ['delete', '/api/v1/activities/{id}/signups/me'],
      ['get', '/api/v1/activities/{id}/checkin-code'],
      ['post', '/api/v1/activities/{id}/checkins'],
      ['post', '/api/v1/activities/{id}/checkouts'],
      ['post', '/api/v1/activities/{id}/complete'],
      ['post', '/api/v1/activities/{id}/attendances'],
      ['post', '/api/v1/activities/{id}/cancel'],
      ['get', '/api/v1/points/balance'],
      ['get', '/api/v1/points/statement'],
      ['get', '/api/v1/points/leaderboard'],
      ['post', '/api/v1/points/awards'],
      ['get', '/api/v1/points/rules'],
      ['put', '/api/v1/points/rules'],
      ['post', '/api/v1/reports'],
      ['get', '/api/v1/reports'],
      ['post', '/api/v1/reports/{id}/accept'],
      ['post', '/api/v1/reports/{id}/reject'],
      ['post', '/api/v1/shops'],
      ['get', '/api/v1/shops'],
      ['post', '/api/v1/timebank/requests'],
      ['get', '/api/v1/timebank/requests'],
    ];
    for (const [method, path] of expected) expect(body.paths[path!]?.[method!]).toBeDefined();
    const page = await api('GET', '/api/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.body).toContain('/api/docs/docs.js');
    const script = await api('GET', '/api/docs/docs.js');
    expect(script.status).toBe(200);
    expect(script.body).toContain('/api/openapi.json');
    expect((await api('GET', '/api/v1/no-such-route')).status).toBe(404);
  });
});
