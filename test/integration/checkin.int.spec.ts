import { api, approvedVolunteer, communityWithOrganizer, register, type Session } from '../support/api';

/**
 * Check-in must be hard to fake: each refusal below is a way of claiming service one did not
 * give (a forwarded code, from home, at the wrong time, without a place).
 */
describe('check-in refusals and minute counting', () => {
  const site = { lat: 23.1291, lng: 113.2644 };
  let organizer: Session;
  let communityId: string;

  beforeAll(async () => {
    ({ organizer, communityId } = await communityWithOrganizer());
  });

  async function activity(startOffsetMs: number, endOffsetMs: number, capacity = 10): Promise<string> {
    const created = await api('POST', '/api/v1/activities', {
      token: organizer.token,
      body: {
        title: '社区义诊',
        category: 'medical',
        location: { ...site, radiusMeters: 100 },
        startAt: new Date(Date.now() + startOffsetMs).toISOString(),
        endAt: new Date(Date.now() + endOffsetMs).toISOString(),
        capacity,
        pointsPerHour: 12,
      },
    });
    await api('POST', `/api/v1/activities/${created.body.id}/publish`, { token: organizer.token });
    return created.body.id;
  }
  const codeOf = async (activityId: string): Promise<string> =>
    (await api('GET', `/api/v1/activities/${activityId}/checkin-code`, { token: organizer.token })).body.code;
  const checkIn = (volunteer: Session, activityId: string, body: Record<string, unknown>) =>
    api('POST', `/api/v1/activities/${activityId}/checkins`, { token: volunteer.token, body });

  it('refuses each way of faking presence with the reason', async () => {
    const current = await activity(-10 * 60_000, 2 * 3600_000, 1);
    const other = await activity(-10 * 60_000, 2 * 3600_000);
    const [confirmed, waitlisted, stranger] = await Promise.all([1, 2, 3].map(() => approvedVolunteer(communityId, organizer)));
    await api('POST', `/api/v1/activities/${current}/signups`, { token: confirmed!.token });
    await api('POST', `/api/v1/activities/${current}/signups`, { token: waitlisted!.token });
    const code = await codeOf(current);
    const expectRefusal = async (response: Promise<{ status: number; body: { code: string } }>, status: number, reason: string) => {
      const answer = await response;
      expect([answer.status, answer.body.code]).toEqual([status, reason]);
    };

    // About 1.1 km away: a check-in from home.
    await expectRefusal(checkIn(confirmed!, current, { code, lat: site.lat + 0.01, lng: site.lng }), 422, 'outside_geofence');
    // The code shown at another activity.
    await expectRefusal(checkIn(confirmed!, current, { code: await codeOf(other), ...site }), 422, 'checkin_code_wrong_activity');
    // A made-up or tampered code.
    await expectRefusal(checkIn(confirmed!, current, { code: `${code.slice(0, -2)}xx`, ...site }), 422, 'checkin_code_invalid');
    // No confirmed place: not signed up, or only waitlisted.
    await expectRefusal(checkIn(stranger!, current, { code, ...site }), 422, 'not_confirmed');
    await expectRefusal(checkIn(waitlisted!, current, { code, ...site }), 422, 'not_confirmed');
    // Residents without the volunteer role, and malformed positions.
    const resident = await register(communityId);
    expect((await checkIn(resident, current, { code, ...site })).status).toBe(403);
    const malformed = await checkIn(confirmed!, current, { code, lat: 200, lng: 'east' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors.map((error: { path: string }) => error.path)).toEqual(expect.arrayContaining(['lat', 'lng']));

    const fresh = await codeOf(current);
    expect((await checkIn(confirmed!, current, { code: fresh, ...site })).status).toBe(201);
    await expectRefusal(checkIn(confirmed!, current, { code: fresh, ...site }), 409, 'already_checked_in');
  });

  it('refuses a check-in long before the start, and a code that has expired', async () => {
    const later = await activity(5 * 3600_000, 7 * 3600_000);
    const volunteer = await approvedVolunteer(communityId, organizer);
    await api('POST', `/api/v1/activities/${later}/signups`, { token: volunteer.token });
    const early = await checkIn(volunteer, later, { code: await codeOf(later), ...site });
    expect([early.status, early.body.code]).toEqual([422, 'outside_time_window']);

    const now = await activity(-5 * 60_000, 3600_000);
    await api('POST', `/api/v1/activities/${now}/signups`, { token: volunteer.token });
    const code = await codeOf(now);
    // The test platform's codes live at most 6 seconds (CHECKIN_CODE_TTL_SECONDS).
    await new Promise((resolve) => setTimeout(resolve, 6500));
    const stale = await checkIn(volunteer, now, { code, ...site });
    expect([stale.status, stale.body.code]).toEqual([422, 'checkin_code_expired']);
    expect((await checkIn(volunteer, now, { code: await codeOf(now), ...site })).status).toBe(201);
  });

  it('counts only the time inside the window, in whole steps, and closes a missing check-out at the end', async () => {
    const startOffsetMs = -65 * 60_000;
    const endOffsetMs = 8000;
    const startMs = Date.now() + startOffsetMs;
    const activityId = await activity(startOffsetMs, endOffsetMs);
    const [early, forgetful, brief, corrected] = await Promise.all([1, 2, 3, 4].map(() => approvedVolunteer(communityId, organizer)));
    for (const volunteer of [early!, forgetful!, brief!, corrected!]) await api('POST', `/api/v1/activities/${activityId}/signups`, { token: volunteer.token });
    const record = (volunteer: Session, action: string, atMs: number) =>
      api('POST', `/api/v1/activities/${activityId}/attendances`, {
        token: organizer.token,
        body: { userId: volunteer.userId, action, at: new Date(atMs).toISOString(), reason: '纸质签到表补录' },
      });
    expect((await record(early!, 'check_in', startMs - 15 * 60_000)).status).toBe(201);
    expect((await record(forgetful!, 'check_in', startMs + 7 * 60_000)).status).toBe(201);
    expect((await record(brief!, 'check_in', startMs)).status).toBe(201);
    expect((await record(brief!, 'check_out', startMs + 31 * 60_000)).body.minutes).toBe(30);
    expect((await record(corrected!, 'check_in', startMs)).status).toBe(201);

    // early leaves late: after the end, with a fresh code on site.
    await new Promise((resolve) => setTimeout(resolve, endOffsetMs + 1500));
    const lateLeave = await api('POST', `/api/v1/activities/${activityId}/checkouts`, {
      token: early!.token,
      body: { code: await codeOf(activityId), ...site },
    });
    expect(lateLeave.status).toBe(201);
    expect(lateLeave.body.minutes).toBe(65);

    const completed = await api('POST', `/api/v1/activities/${activityId}/complete`, {
      token: organizer.token,
      body: { adjustments: [{ userId: corrected!.userId, minutes: 40, reason: '中途离开40分钟后返回，按实际服务时长核定' }] },
    });
    expect(completed.status).toBe(200);
    const byUser = new Map(completed.body.attendances.map((entry: { userId: string }) => [entry.userId, entry]));
    expect(byUser.get(early!.userId)).toMatchObject({ minutes: 65, points: 13, checkoutMissing: false });
    expect(byUser.get(forgetful!.userId)).toMatchObject({ minutes: 55, points: 11, checkoutMissing: true });
    expect(byUser.get(brief!.userId)).toMatchObject({ minutes: 30, points: 6, checkoutMissing: false });
    expect(byUser.get(corrected!.userId)).toMatchObject({ minutes: 40, points: 8 });
  });
});
