import { api, approvedVolunteer, communityWithOrganizer, type Session } from '../support/api';

describe('activity sign-ups: capacity, waitlist and withdrawal', () => {
  let organizer: Session;
  let communityId: string;

  beforeAll(async () => {
    ({ organizer, communityId } = await communityWithOrganizer());
  });

  async function publishedActivity(capacity: number): Promise<string> {
    const created = await api('POST', '/api/v1/activities', {
      token: organizer.token,
      body: {
        title: '敬老院包饺子',
        category: 'elderly_care',
        location: { lat: 30.2741, lng: 120.1551, radiusMeters: 100 },
        startAt: new Date(Date.now() + 24 * 3600_000).toISOString(),
        endAt: new Date(Date.now() + 26 * 3600_000).toISOString(),
        capacity,
        pointsPerHour: 8,
      },
    });
    await api('POST', `/api/v1/activities/${created.body.id}/publish`, { token: organizer.token });
    return created.body.id;
  }

  it('confirms exactly capacity of a concurrent rush and waitlists the rest', async () => {
    const volunteers = await Promise.all(Array.from({ length: 8 }, () => approvedVolunteer(communityId, organizer)));
    const activityId = await publishedActivity(3);
    const results = await Promise.all(volunteers.map((volunteer) => api('POST', `/api/v1/activities/${activityId}/signups`, { token: volunteer.token })));
    expect(results.map((result) => result.status)).toEqual(Array(8).fill(201));
    expect(results.filter((result) => result.body.status === 'confirmed')).toHaveLength(3);
    expect((await api('GET', `/api/v1/activities/${activityId}`, { token: organizer.token })).body.confirmedCount).toBe(3);
  });

  it('gives a withdrawn place to the longest-waiting volunteer', async () => {
    const [first, second, third, fourth] = await Promise.all(Array.from({ length: 4 }, () => approvedVolunteer(communityId, organizer)));
    const activityId = await publishedActivity(2);
    for (const volunteer of [first!, second!, third!, fourth!]) await api('POST', `/api/v1/activities/${activityId}/signups`, { token: volunteer.token });

    expect((await api('DELETE', `/api/v1/activities/${activityId}/signups/me`, { token: first!.token })).status).toBe(204);
    // third waited longest, so third now holds first's place.
    const again = await api('POST', `/api/v1/activities/${activityId}/signups`, { token: third!.token });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('already_signed_up');
    expect((await api('GET', `/api/v1/activities/${activityId}`, { token: organizer.token })).body.confirmedCount).toBe(2);

    // Withdrawing from the waitlist frees no place; withdrawing twice finds nothing.
    expect((await api('DELETE', `/api/v1/activities/${activityId}/signups/me`, { token: fourth!.token })).status).toBe(204);
    expect((await api('DELETE', `/api/v1/activities/${activityId}/signups/me`, { token: fourth!.token })).status).toBe(404);
    expect((await api('GET', `/api/v1/activities/${activityId}`, { token: organizer.token })).body.confirmedCount).toBe(2);

    // first signs up again and queues behind nobody: the activity is full, so first waits.
    expect((await api('POST', `/api/v1/activities/${activityId}/signups`, { token: first!.token })).body.status).toBe('waitlisted');
    expect((await api('DELETE', `/api/v1/activities/${activityId}/signups/me`, { token: second!.token })).status).toBe(204);
    expect((await api('POST', `/api/v1/activities/${activityId}/signups`, { token: first!.token })).status).toBe(409);
    expect((await api('GET', `/api/v1/activities/${activityId}`, { token: organizer.token })).body.confirmedCount).toBe(2);
  });

  it('refuses sign-ups without the volunteer role', async () => {
    const activityId = await publishedActivity(2);
    const refused = await api('POST', `/api/v1/activities/${activityId}/signups`, { token: organizer.token });
    expect(refused.status).toBe(403);
  });

  it('lets the organizer check a volunteer in and out by hand, with a reason, inside the rules', async () => {
    const volunteer = await approvedVolunteer(communityId, organizer);
    const startedAgo = await api('POST', '/api/v1/activities', {
      token: organizer.token,
      body: {
        title: '夜间巡逻',
        category: 'patrol',
        location: { lat: 30.2741, lng: 120.1551, radiusMeters: 100 },
        startAt: new Date(Date.now() - 2 * 3600_000).toISOString(),
        endAt: new Date(Date.now() + 3600_000).toISOString(),
        capacity: 5,
        pointsPerHour: 10,
      },
    });
    const activityId: string = startedAgo.body.id;
    await api('POST', `/api/v1/activities/${activityId}/publish`, { token: organizer.token });
    const record = (body: Record<string, unknown>) => api('POST', `/api/v1/activities/${activityId}/attendances`, { token: organizer.token, body });

    const notSignedUp = await record({ userId: volunteer.userId, action: 'check_in', reason: '手机没电' });
    expect(notSignedUp.status).toBe(422);
    await api('POST', `/api/v1/activities/${activityId}/signups`, { token: volunteer.token });
    expect((await record({ userId: volunteer.userId, action: 'check_in' })).status).toBe(400);
    const checkedIn = await record({
      userId: volunteer.userId,
      action: 'check_in',
      at: new Date(Date.now() - 90 * 60_000).toISOString(),
      reason: '手机没电，现场登记',
    });
    expect(checkedIn.status).toBe(201);
    expect((await record({ userId: volunteer.userId, action: 'check_in', reason: '重复' })).status).toBe(409);
    expect((await record({ userId: volunteer.userId, action: 'check_out', at: new Date(Date.now() + 3600_000).toISOString(), reason: '未来' })).status).toBe(
      400,
    );
    const checkedOut = await record({
      userId: volunteer.userId,
      action: 'check_out',
      at: new Date(Date.now() - 30 * 60_000).toISOString(),
      reason: '提前离开，现场登记',
    });
    expect(checkedOut.status).toBe(201);
    expect(checkedOut.body).toMatchObject({ status: 'checked_out', minutes: 60 });
    const byVolunteer = await api('POST', `/api/v1/activities/${activityId}/attendances`, {
      token: volunteer.token,
      body: { userId: volunteer.userId, action: 'check_in', reason: 'x' },
    });
    expect(byVolunteer.status).toBe(403);
  });

  it('cancels an activity, after which nobody checks in and it cannot be completed', async () => {
    const activityId = await publishedActivity(3);
    expect((await api('POST', `/api/v1/activities/${activityId}/cancel`, { token: organizer.token, body: {} })).status).toBe(400);
    const cancelled = await api('POST', `/api/v1/activities/${activityId}/cancel`, { token: organizer.token, body: { reason: '暴雨预警' } });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    expect((await api('POST', `/api/v1/activities/${activityId}/cancel`, { token: organizer.token, body: { reason: '再次' } })).status).toBe(409);
    expect((await api('POST', `/api/v1/activities/${activityId}/complete`, { token: organizer.token, body: {} })).status).toBe(409);
    const volunteer = await approvedVolunteer(communityId, organizer);
    expect((await api('POST', `/api/v1/activities/${activityId}/signups`, { token: volunteer.token })).status).toBe(422);
  });
});
