import jwt from 'jsonwebtoken';
import { randomUUID } from 'node:crypto';
import { api, communityWithOrganizer, register, type Session, signIn, uniquePhone } from '../support/api';

/** The gateway of the test platform runs with the documented local secret, issuer and audience. */
const localSecret = process.env.TEST_JWT_SECRET ?? 'local-development-jwt-secret-change-me-0123456789';
const claimsOf = (session: Session) => jwt.decode(session.token) as Record<string, unknown>;

describe('gateway security: tokens, sessions, throttling, input hardening, headers', () => {
  let communityId: string;
  let resident: Session;

  beforeAll(async () => {
    ({ communityId } = await communityWithOrganizer());
    resident = await register(communityId, '安全测试居民');
  });

  const me = (token: string) => api('GET', '/api/v1/me', { token });

  it('accepts a real access token and refuses forged, expired, unsigned, foreign and refresh tokens with 401', async () => {
    expect((await me(resident.token)).status).toBe(200);
    const claims = claimsOf(resident);
    const body = { typ: 'access', roles: claims.roles, cid: claims.cid, street: claims.street };
    const signed = (options: jwt.SignOptions, secret = localSecret) =>
      jwt.sign(body, secret, { algorithm: 'HS256', issuer: 'lovepoints', audience: 'lovepoints-portal', subject: resident.userId, ...options });
    const forged = signed({ expiresIn: 600 }, 'an-attacker-secret-that-is-long-enough-000');
    const expired = jwt.sign({ ...body, exp: Math.floor(Date.now() / 1000) - 60 }, localSecret, {
      algorithm: 'HS256',
      issuer: 'lovepoints',
      audience: 'lovepoints-portal',
      subject: resident.userId,
    });
    const wrongAudience = signed({ expiresIn: 600, audience: 'another-app' });
    const wrongIssuer = signed({ expiresIn: 600, issuer: 'someone-else' });
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(
      JSON.stringify({ ...body, roles: ['street_admin'], sub: resident.userId, iss: 'lovepoints', aud: 'lovepoints-portal' }),
    ).toString('base64url');
    const unsigned = `${header}.${payload}.`;
    const hs512 = signed({ expiresIn: 600, algorithm: 'HS512' });
    for (const token of [forged, expired, wrongAudience, wrongIssuer, unsigned, hs512, resident.refreshToken, 'not.a.token']) {
      const response = await me(token);
      expect({ token: token.slice(0, 24), status: response.status }).toEqual({ token: token.slice(0, 24), status: 401 });
      expect(response.headers.get('content-type')).toContain('application/problem+json');
    }
    const garbled = await api('GET', '/api/v1/me', { headers: { authorization: 'Basic YWRtaW46YWRtaW4=' } });
    expect(garbled.status).toBe(401);
  });

  it('rotates refresh tokens once; a replayed one ends the whole sign-in', async () => {
    const session = await signIn(resident.phone, resident.password);
    const first = await api('POST', '/api/v1/auth/refresh', { body: { refreshToken: session.refreshToken } });
    expect(first.status).toBe(200);
    expect(first.body.refreshToken).not.toBe(session.refreshToken);
    const replayed = await api('POST', '/api/v1/auth/refresh', { body: { refreshToken: session.refreshToken } });
    expect(replayed.status).toBe(401);
    expect(replayed.body.code).toBe('refresh_token_reused');
    // The thief's replay also ends the legitimate holder's newer token.
    const newer = await api('POST', '/api/v1/auth/refresh', { body: { refreshToken: first.body.refreshToken } });
    expect(newer.status).toBe(401);
    // Other sign-ins of the same person are untouched.
    const other = await signIn(resident.phone, resident.password);
    expect((await api('POST', '/api/v1/auth/refresh', { body: { refreshToken: other.refreshToken } })).status).toBe(200);
  });

  it('logs out: the refresh token and its rotations stop working', async () => {
    const session = await signIn(resident.phone, resident.password);
    const rotated = await api('POST', '/api/v1/auth/refresh', { body: { refreshToken: session.refreshToken } });
    expect(rotated.status).toBe(200);
    expect((await api('POST', '/api/v1/auth/logout', { body: { refreshToken: rotated.body.refreshToken } })).status).toBe(204);
    const after = await api('POST', '/api/v1/auth/refresh', { body: { refreshToken: rotated.body.refreshToken } });
    expect(after.status).toBe(401);
    expect(after.body.code).toBe('refresh_token_revoked');
    expect((await api('POST', '/api/v1/auth/logout', { body: { refreshToken: 'x.y.z' } })).status).toBe(401);
  });

  it('locks a phone number after repeated wrong passwords (429 with Retry-After), then lets it in again', async () => {
    const victim = await register(communityId, '被试探的居民');
    const attempt = (password: string) => api('POST', '/api/v1/auth/login', { body: { phone: victim.phone, password } });
    for (let index = 0; index < 5; index += 1) expect((await attempt(`wrong-password-${index}`)).status).toBe(401);
    const locked = await attempt(victim.password);
    expect(locked.status).toBe(429);
    expect(locked.body.code).toBe('login_locked');
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    // The test platform locks for 3 seconds.
    await new Promise((resolve) => setTimeout(resolve, 3500));
    expect((await attempt(victim.password)).status).toBe(200);
    // Unknown numbers answer like wrong passwords and are throttled the same way.
    const unknown = uniquePhone();
    for (let index = 0; index < 5; index += 1) {
      expect((await api('POST', '/api/v1/auth/login', { body: { phone: unknown, password: 'whatever-1' } })).status).toBe(401);
    }
    expect((await api('POST', '/api/v1/auth/login', { body: { phone: unknown, password: 'whatever-1' } })).status).toBe(429);
  });

  it('ignores roles and ids smuggled into a registration (mass assignment)', async () => {
    const phone = uniquePhone();
    const response = await api('POST', '/api/v1/auth/register', {
      body: { phone, password: 'secret-password-1', name: '想当管理员', communityId, roles: ['street_admin'], role: 'organizer', id: 'admin', _id: 'x' },
    });
    expect(response.status).toBe(201);
    expect(response.body.user.roles).toEqual(['resident']);
    expect(response.body.user.id).not.toBe('admin');
    expect((jwt.decode(response.body.accessToken) as { roles: string[] }).roles).toEqual(['resident']);
  });

  it('refuses MongoDB operators and other non-scalar values where strings belong', async () => {
    const injections = [
      { path: '/api/v1/auth/login', body: { phone: { $gt: '' }, password: { $ne: null } } },
      { path: '/api/v1/auth/login', body: { phone: resident.phone, password: { $regex: '.*' } } },
      { path: '/api/v1/auth/register', body: { phone: uniquePhone(), password: 'secret-password-1', name: { $where: 'sleep(1000)' }, communityId } },
      { path: '/api/v1/auth/register', body: { phone: uniquePhone(), password: 'secret-password-1', name: '正常', communityId: { $ne: '' } } },
      { path: '/api/v1/auth/refresh', body: { refreshToken: { $exists: true } } },
    ];
    for (const { path, body } of injections) {
      const response = await api('POST', path, { body });
      expect({ path, status: response.status }).toEqual({ path, status: 400 });
      expect(response.body.errors.length).toBeGreaterThan(0);
    }
    const query = await api('GET', '/api/v1/activities?status[$ne]=draft', { token: resident.token });
    expect(query.status).toBeLessThan(500);
    expect(query.status).not.toBe(200 + 1);
  });

  it('answers an oversize body with 413 and malformed JSON with 400', async () => {
    const big = await api('POST', '/api/v1/auth/login', { rawBody: JSON.stringify({ phone: '1'.repeat(200_000), password: 'x' }) });
    expect(big.status).toBe(413);
    expect(big.body.code).toBe('body_too_large');
    const malformed = await api('POST', '/api/v1/auth/login', { rawBody: '{"phone": ' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe('malformed_body');
  });

  it('sends security headers, and CORS headers only to portal origins', async () => {
    const allowed = await api('GET', '/api/v1/communities', { headers: { origin: 'http://localhost:3000' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    expect(allowed.headers.get('x-content-type-options')).toBe('nosniff');
    expect(allowed.headers.get('x-frame-options')).toBe('DENY');
    expect(allowed.headers.get('x-request-id')).toBeTruthy();
    expect(allowed.headers.get('x-powered-by')).toBeNull();
    const foreign = await api('GET', '/api/v1/communities', { headers: { origin: 'https://evil.example' } });
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await api('OPTIONS', '/api/v1/points/awards', {
      headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,idempotency-key' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toContain('Idempotency-Key');
  });

  it('replays the first answer for a repeated Idempotency-Key and refuses the key for a different request', async () => {
    const { organizer, communityId: ownCommunity } = await communityWithOrganizer();
    const member = await register(ownCommunity, '受奖居民');
    const key = randomUUID();
    const award = (points: number) =>
      api('POST', '/api/v1/points/awards', {
        token: organizer.token,
        headers: { 'idempotency-key': key },
        body: { userId: member.userId, points, reason: '楼道清扫' },
      });
    const first = await award(6);
    expect(first.status).toBe(201);
    const again = await award(6);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const different = await award(60);
    expect(different.status).toBe(409);
    expect(different.body.code).toBe('idempotency_key_reused');
    const balance = await api('GET', '/api/v1/points/balance', { token: member.token });
    expect(balance.body.points).toBe(6);
    const badKey = await api('POST', '/api/v1/points/awards', {
      token: organizer.token,
      headers: { 'idempotency-key': 'bad key!' },
      body: { userId: member.userId, points: 1, reason: 'x' },
    });
    expect(badKey.status).toBe(400);
  });
});
