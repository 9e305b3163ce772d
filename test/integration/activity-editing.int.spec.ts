import { attendanceVerified } from '@lovepoints/events';
import { api, approvedVolunteer, balanceReaches, communityWithOrganizer, completedActivity, eventually, type Session } from '../support/api';
import { recordTopic, testKafka } from '../support/kafka';

const site = { lat: 22.5431, lng: 114.0579 };
const inHours = (hours: number) => new Date(Date.now() + hours * 3600_000).toISOString();

describe('activity editing, sign-up windows and fixed rewards', () => {
  let organizer: Session;
  let communityId: string;

  beforeAll(async () => {
    ({ organizer, communityId } = await communityWithOrganizer());
  });

  const create = (body: Record<string, unknown>) =>
    api('POST', '/api/v1/activities', {
      token: organizer.token,
      body: {
        title: '垃圾分类宣传',
        category: 'environment',
        location: { ...site, radiusMeters: 100 },
        startAt: inHours(24),
        endAt: inHours(26),
        capacity: 2,
        pointsPerHour: 10,
        ...body,
      },
    });
  const edit = (id: string, body: unknown, token = organizer.token) => api('PATCH', `/api/v1/activities/${id}`, { token, body });
  const publish = (id: string) => api('POST', `/api/v1/activities/${id}/publish`, { token: organizer.token });
  const signUp = (id: string, volunteer: Session) => api('POST', `/api/v1/activities/${id}/signups`, { token: volunteer.token });
  const get = async (id: string) => (await api('GET', `/api/v1/activities/${id}`, { token: organizer.token })).body;
  const paths = (body: { errors?: { path: string }[] }) => body.errors?.map((error) => error.path);

  it('edits every field of a draft, switching the reward rule, and refuses bad input with the field', async () => {
    const draft = (await create({ description: '' })).body;
    const closesAt = inHours(47);
    expect(draft).toMatchObject({ status: 'draft', pointsPerHour: 10, rewardPoints: null, signupOpensAt: null, signupClosesAt: null });

    const edited = await edit(draft.id, {
      title: '垃圾分类入户宣传',
      description: '两人一组，逐户发放宣传册',
      location: { lat: site.lat + 0.001, lng: site.lng, radiusMeters: 200 },
      startAt: inHours(48),
      endAt: inHours(51),
      capacity: 5,
      rewardPoints: 20,
      signupClosesAt: closesAt,
    });
    expect(edited.status).toBe(200);
    expect(edited.body).toMatchObject({
      title: '垃圾分类入户宣传',
      description: '两人一组，逐户发放宣传册',
      location: { radiusMeters: 200 },
      capacity: 5,
      pointsPerHour: 0,
      rewardPoints: 20,
      signupOpensAt: null,
    });
    expect(Date.parse(edited.body.signupClosesAt)).toBe(Date.parse(closesAt));
    // Back to an hourly rate: the fixed reward goes.
    expect((await edit(draft.id, { pointsPerHour: 12 })).body).toMatchObject({ pointsPerHour: 12, rewardPoints: null });

    const badTimes = await edit(draft.id, { endAt: inHours(46) });
    expect([badTimes.status, paths(badTimes.body)]).toEqual([400, ['endAt', 'signupClosesAt']]);
    const bothRewards = await edit(draft.id, { pointsPerHour: 5, rewardPoints: 5 });
    expect([bothRewards.status, paths(bothRewards.body)]).toEqual([400, ['rewardPoints']]);
    expect((await edit(draft.id, {})).status).toBe(400);
    const malformed = await edit(draft.id, { capacity: 0, startAt: 'tomorrow', location: { lat: 91, lng: 0, radiusMeters: 100 } });
    expect([malformed.status, paths(malformed.body)?.sort()]).toEqual([400, ['capacity', 'location.lat', 'startAt']]);
    // Nothing of the refused edits was written.
    expect(await get(draft.id)).toMatchObject({ capacity: 5, pointsPerHour: 12, rewardPoints: null, endAt: edited.body.endAt });
  });

  it('keeps other communities and non-organizers out', async () => {
    const draft = (await create({})).body;
    const other = await communityWithOrganizer();
    expect((await edit(draft.id, { title: '别人的活动' }, other.organizer.token)).status).toBe(404);
    expect((await edit('no-such-activity', { title: 'x' })).status).toBe(404);
    const volunteer = await approvedVolunteer(communityId, organizer);
    expect((await edit(draft.id, { title: 'x' }, volunteer.token)).status).toBe(403);
    expect((await get(draft.id)).title).toBe('垃圾分类宣传');
  });

  it('edits a published activity within limits: the reward stays, the capacity never drops below the confirmed places, raising it promotes the waitlist', async () => {
    const id: string = (await create({ capacity: 2 })).body.id;
    await publish(id);
    const [first, second, third, fourth] = await Promise.all(Array.from({ length: 4 }, () => approvedVolunteer(communityId, organizer)));
    for (const volunteer of [first!, second!, third!, fourth!]) await signUp(id, volunteer);
    expect((await get(id)).confirmedCount).toBe(2);

    const reward = await edit(id, { rewardPoints: 50 });
    expect([reward.status, reward.body.code, paths(reward.body)]).toEqual([409, 'field_locked', ['rewardPoints']]);
    const tooSmall = await edit(id, { capacity: 1 });
    expect([tooSmall.status, tooSmall.body.code]).toEqual([409, 'capacity_below_confirmed']);

    const startAt = inHours(30);
    const raised = await edit(id, { capacity: 3, description: '请自带水杯', startAt, endAt: inHours(33) });
    expect(raised.status).toBe(200);
    // third waited longest and now holds the new place; fourth still waits.
    expect(raised.body).toMatchObject({ capacity: 3, confirmedCount: 3, description: '请自带水杯' });
    expect(Date.parse(raised.body.startAt)).toBe(Date.parse(startAt));
    expect((await api('DELETE', `/api/v1/activities/${id}/signups/me`, { token: third!.token })).status).toBe(204);
    expect((await get(id)).confirmedCount).toBe(3);
    expect((await signUp(id, third!)).body.status).toBe('waitlisted');
    expect((await edit(id, { capacity: 3 })).status).toBe(200);
  });

  it('refuses every edit once someone has checked in, and after completion or cancellation', async () => {
    const id: string = (await create({ startAt: inHours(-0.5), endAt: inHours(2) })).body.id;
    await publish(id);
    const volunteer = await approvedVolunteer(communityId, organizer);
    await signUp(id, volunteer);
    const code = (await api('GET', `/api/v1/activities/${id}/checkin-code`, { token: organizer.token })).body.code;
    expect((await api('POST', `/api/v1/activities/${id}/checkins`, { token: volunteer.token, body: { code, ...site } })).status).toBe(201);
    const running = await edit(id, { endAt: inHours(3) });
    expect([running.status, running.body.code]).toEqual([409, 'activity_not_editable']);
    expect((await edit(id, { description: '改一下' })).status).toBe(409);
    expect((await api('POST', `/api/v1/activities/${id}/complete`, { token: organizer.token, body: {} })).status).toBe(200);
    expect((await edit(id, { title: '已完成' })).status).toBe(409);

    const cancelledId: string = (await create({})).body.id;
    await api('POST', `/api/v1/activities/${cancelledId}/cancel`, { token: organizer.token, body: { reason: '场地冲突' } });
    expect((await edit(cancelledId, { title: '取消后' })).status).toBe(409);
  });

  it('accepts sign-ups only inside the sign-up window, with the reason', async () => {
    const badWindow = await create({ signupOpensAt: inHours(2), signupClosesAt: inHours(1) });
    expect([badWindow.status, paths(badWindow.body)]).toEqual([400, ['signupOpensAt']]);
    const closesAfterEnd = await create({ signupClosesAt: inHours(27) });
    expect([closesAfterEnd.status, paths(closesAfterEnd.body)]).toEqual([400, ['signupClosesAt']]);

    const volunteer = await approvedVolunteer(communityId, organizer);
    const notYet: string = (await create({ signupOpensAt: inHours(12) })).body.id;
    await publish(notYet);
    const early = await signUp(notYet, volunteer);
    expect([early.status, early.body.code]).toEqual([422, 'signup_not_open']);
    expect(early.body.detail).toContain('Sign-ups open at');
    // The organizer opens sign-ups now by removing the limit.
    expect((await edit(notYet, { signupOpensAt: null })).body.signupOpensAt).toBeNull();
    expect((await signUp(notYet, volunteer)).status).toBe(201);

    const closed: string = (await create({ signupOpensAt: inHours(-48), signupClosesAt: inHours(-1), startAt: inHours(-0.5), endAt: inHours(3) })).body.id;
    await publish(closed);
    const late = await signUp(closed, volunteer);
    expect([late.status, late.body.code]).toEqual([422, 'signup_closed']);
    // An edit that would close sign-ups after the end is refused against the activity as stored.
    const badEdit = await edit(closed, { signupClosesAt: inHours(4) });
    expect([badEdit.status, paths(badEdit.body)]).toEqual([400, ['signupClosesAt']]);
    expect((await edit(closed, { signupClosesAt: inHours(2) })).status).toBe(200);
    expect((await signUp(closed, volunteer)).body.status).toBe('confirmed');
  });

  it('credits a fixed reward once per verified attendance, whatever the minutes, through AttendanceVerified v2', async () => {
    expect(paths((await create({ pointsPerHour: undefined })).body)).toEqual(['pointsPerHour']);
    expect(paths((await create({ rewardPoints: 30 })).body)).toEqual(['rewardPoints']);

    const kafka = testKafka();
    const recorder = await recordTopic(kafka, [attendanceVerified.topic]);
    try {
      const volunteer = await approvedVolunteer(communityId, organizer);
      const attendanceId = await completedActivity(organizer, volunteer, { minutes: 95, rewardPoints: 30 });
      await balanceReaches(volunteer, { points: 30, timeMinutes: 95 });
      const event = await eventually(async () => {
        const found = recorder.messages.find((message) => message.key === attendanceId);
        return found === undefined ? undefined : JSON.parse(found.value!.toString());
      });
      expect(event).toMatchObject({ type: 'AttendanceVerified', version: 2, data: { minutes: 95, reward: { rule: 'fixed', points: 30 } } });

      // Completing an hourly activity still sends version 1, which older consumers know.
      const hourly = await completedActivity(organizer, volunteer, { minutes: 60, pointsPerHour: 6 });
      await balanceReaches(volunteer, { points: 36, timeMinutes: 155 });
      const v1 = await eventually(async () => {
        const found = recorder.messages.find((message) => message.key === hourly);
        return found === undefined ? undefined : JSON.parse(found.value!.toString());
      });
      expect(v1).toMatchObject({ version: 1, data: { pointsPerHour: 6 } });
    } finally {
      await recorder.stop();
      await kafka.disconnect();
    }
  });
});
