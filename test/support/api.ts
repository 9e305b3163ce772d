import { randomInt } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { platform } from './platform';

export interface ApiResponse<Body = any> {
  status: number;
  body: Body;
  headers: Headers;
}

/** One HTTP call to the gateway, as a portal would make it. */
export async function api<Body = any>(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<ApiResponse<Body>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let payload: string | undefined;
  if (options.rawBody !== undefined) payload = options.rawBody;
  else if (options.body !== undefined) payload = JSON.stringify(options.body);
  if (payload !== undefined) headers['content-type'] ??= 'application/json';
  const response = await fetch(`${platform.TEST_GATEWAY_URL}${path}`, { method, headers, body: payload });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    // Leave non-JSON bodies as text; the assertion that follows will show them.
  }
  return { status: response.status, body: body as Body, headers: response.headers };
}

/** A phone number no other test run uses (mainland format: 1 and ten digits). */
export function uniquePhone(): string {
  return `19${String(randomInt(0, 1e9)).padStart(9, '0')}`;
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomInt(0, 1e6).toString(36)}`;
}

export interface Session {
  userId: string;
  token: string;
  refreshToken: string;
  phone: string;
  password: string;
}

export async function signIn(phone: string, password: string): Promise<Session> {
  const response = await api('POST', '/api/v1/auth/login', { body: { phone, password } });
  if (response.status !== 200) throw new Error(`login failed: ${response.status} ${JSON.stringify(response.body)}`);
  return { userId: response.body.user.id, token: response.body.accessToken, refreshToken: response.body.refreshToken, phone, password };
}

export async function signInAsAdmin(): Promise<Session> {
  return signIn(platform.TEST_ADMIN_PHONE, platform.TEST_ADMIN_PASSWORD);
}

export async function register(communityId: string, name = '测试居民'): Promise<Session> {
  const phone = uniquePhone();
  const password = 'secret-password-1';
  const response = await api('POST', '/api/v1/auth/register', { body: { phone, password, name, communityId } });
  if (response.status !== 201) throw new Error(`register failed: ${response.status} ${JSON.stringify(response.body)}`);
  return { userId: response.body.user.id, token: response.body.accessToken, refreshToken: response.body.refreshToken, phone, password };
}

/** New tokens for a session, so that roles granted since sign-in take effect. */
export async function refresh(session: Session): Promise<Session> {
  const response = await api('POST', '/api/v1/auth/refresh', { body: { refreshToken: session.refreshToken } });
  if (response.status !== 200) throw new Error(`refresh failed: ${response.status} ${JSON.stringify(response.body)}`);
  return { ...session, token: response.body.accessToken, refreshToken: response.body.refreshToken };
}

/** Polls until `probe` returns a value, or fails after `timeoutMs`. */
export async function eventually<Value>(probe: () => Promise<Value | undefined>, timeoutMs = 20_000, intervalMs = 200): Promise<Value> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms${last instanceof Error ? `: ${last.message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A community with an organizer, for specs that need one. */
export async function communityWithOrganizer(): Promise<{ admin: Session; communityId: string; organizer: Session }> {
  const admin = await signInAsAdmin();
  const community = await api('POST', '/api/v1/communities', { token: admin.token, body: { name: uniqueName('社区'), street: '示范街道' } });
  if (community.status !== 201) throw new Error(`community failed: ${community.status} ${JSON.stringify(community.body)}`);
  const communityId: string = community.body.id;
  const organizerBase = await register(communityId, '社区工作人员');
  const granted = await api('POST', `/api/v1/users/${organizerBase.userId}/roles`, { token: admin.token, body: { role: 'organizer' } });
  if (granted.status !== 200) throw new Error(`grant failed: ${granted.status} ${JSON.stringify(granted.body)}`);
  return { admin, communityId, organizer: await refresh(organizerBase) };
}

/** A resident of the community who applied and was approved as a volunteer. */
export async function approvedVolunteer(communityId: string, organizer: Session): Promise<Session> {
  const resident = await register(communityId, '志愿者');
  const profile = await api('POST', '/api/v1/volunteers', { token: resident.token, body: { realName: '张三', skills: ['patrol'] } });
  if (profile.status !== 201) throw new Error(`apply failed: ${profile.status} ${JSON.stringify(profile.body)}`);
  const approved = await api('POST', `/api/v1/volunteers/${profile.body.id}/approve`, { token: organizer.token });
  if (approved.status !== 200) throw new Error(`approve failed: ${approved.status} ${JSON.stringify(approved.body)}`);
  return refresh(resident);
}

/**
 * Waits until the named fields of a member's balance are exactly `expected`; fails with the last
 * balance seen. Credits arrive through Kafka, so a balance is right only eventually, and exactly then.
 */
export async function balanceReaches(session: Session, expected: Record<string, number>): Promise<void> {
  let last: unknown;
  try {
    await eventually(async () => {
      const response = await api('GET', '/api/v1/points/balance', { token: session.token });
      last = response.body;
      const picked = Object.fromEntries(Object.keys(expected).map((key) => [key, (response.body as Record<string, unknown>)[key]]));
      return isDeepStrictEqual(picked, expected) ? true : undefined;
    });
  } catch {
    throw new Error(`balance never became ${JSON.stringify(expected)}; last seen ${JSON.stringify(last)}`);
  }
}

/**
 * An activity run end to end through the gateway: created, published, signed up, checked in,
 * and completed with the organizer's recorded minutes. Resolves with the attendance id.
 */
export async function completedActivity(
  organizer: Session,
  volunteer: Session,
  input: { minutes: number } & ({ pointsPerHour: number } | { rewardPoints: number }),
): Promise<string> {
  const { minutes, ...reward } = input;
  const site = { lat: 31.2304, lng: 121.4737 };
  const now = Date.now();
  const created = await api('POST', '/api/v1/activities', {
    token: organizer.token,
    body: {
      title: '社区清洁日',
      category: 'cleaning',
      location: { ...site, radiusMeters: 150 },
      startAt: new Date(now - 5 * 60_000).toISOString(),
      endAt: new Date(now + 3600_000).toISOString(),
      capacity: 10,
      ...reward,
    },
  });
  if (created.status !== 201) throw new Error(`activity failed: ${created.status} ${JSON.stringify(created.body)}`);
  const id: string = created.body.id;
  await api('POST', `/api/v1/activities/${id}/publish`, { token: organizer.token });
  await api('POST', `/api/v1/activities/${id}/signups`, { token: volunteer.token });
  const code = (await api('GET', `/api/v1/activities/${id}/checkin-code`, { token: organizer.token })).body.code;
  const checkin = await api('POST', `/api/v1/activities/${id}/checkins`, { token: volunteer.token, body: { code, ...site } });
  if (checkin.status !== 201) throw new Error(`check-in failed: ${checkin.status} ${JSON.stringify(checkin.body)}`);
  const completed = await api('POST', `/api/v1/activities/${id}/complete`, {
    token: organizer.token,
    body: { adjustments: [{ userId: volunteer.userId, minutes, reason: '按签到表核定' }] },
  });
  if (completed.status !== 200) throw new Error(`complete failed: ${completed.status} ${JSON.stringify(completed.body)}`);
  return `${id}:${volunteer.userId}`;
}
