import { callUnary, createClients } from '@lovepoints/grpc';
import { api, type Session, signIn, uniqueName, uniquePhone } from './api';
import { platform } from './platform';

/**
 * The street admin of a new street, made the way the gateway makes its own at start (the
 * service-only EnsureStreetAdmin); the API has no way to create one.
 */
export async function streetAdminOfNewStreet(): Promise<Session & { street: string }> {
  const clients = createClients({
    volunteer: platform.TEST_VOLUNTEER_GRPC_ADDRESS,
    points: platform.TEST_POINTS_GRPC_ADDRESS,
    redeem: platform.TEST_REDEEM_GRPC_ADDRESS,
    timebank: platform.TEST_TIMEBANK_GRPC_ADDRESS,
  });
  const phone = uniquePhone();
  const password = 'other-street-1';
  const street = uniqueName('街道');
  try {
    await callUnary(clients.volunteer, 'ensureStreetAdmin', { phone, password, name: '另一街道管理员', street }, { deadlineMs: 5000 });
  } finally {
    Object.values(clients).forEach((client) => client.close());
  }
  return { ...(await signIn(phone, password)), street };
}

/** A published hourly activity running now at a fixed site, for specs about who may act on it. */
export async function publishedActivity(organizer: Session, title = '权限测试活动'): Promise<string> {
  const now = Date.now();
  const created = await api('POST', '/api/v1/activities', {
    token: organizer.token,
    body: {
      title,
      category: 'cleaning',
      location: { lat: 31.2304, lng: 121.4737, radiusMeters: 150 },
      startAt: new Date(now - 5 * 60_000).toISOString(),
      endAt: new Date(now + 3600_000).toISOString(),
      capacity: 10,
      pointsPerHour: 10,
    },
  });
  if (created.status !== 201) throw new Error(`activity failed: ${created.status} ${JSON.stringify(created.body)}`);
  const published = await api('POST', `/api/v1/activities/${created.body.id}/publish`, { token: organizer.token });
  if (published.status !== 200) throw new Error(`publish failed: ${published.status} ${JSON.stringify(published.body)}`);
  return created.body.id as string;
}
