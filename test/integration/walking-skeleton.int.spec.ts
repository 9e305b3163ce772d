import { attendanceVerified, deadLetterTopic } from '@lovepoints/events';
import type { KafkaClient, MessageProducer } from '@lovepoints/kafka';
import { api, approvedVolunteer, balanceReaches, communityWithOrganizer, eventually, type Session } from '../support/api';
import { recordTopic, testKafka } from '../support/kafka';

/**
 * The thin end-to-end flow, every hop real: gateway HTTP → volunteer gRPC → MongoDB-protocol
 * server → outbox relay → Kafka → points consumer → ledger → gateway balance read.
 */
describe('walking skeleton: one attendance becomes love points and service time', () => {
  const site = { lat: 30.5928, lng: 114.3055 };
  let kafka: KafkaClient;
  let producer: MessageProducer;
  let recorder: Awaited<ReturnType<typeof recordTopic>>;
  let organizer: Session;
  let volunteer: Session;
  let activityId: string;

  beforeAll(async () => {
    kafka = testKafka();
    producer = await kafka.connectProducer();
    recorder = await recordTopic(kafka, [attendanceVerified.topic, deadLetterTopic(attendanceVerified.topic)]);
    const setup = await communityWithOrganizer();
    organizer = setup.organizer;
    volunteer = await approvedVolunteer(setup.communityId, organizer);
  });

  afterAll(async () => {
    await recorder.stop();
    await producer.disconnect();
    await kafka.disconnect();
  });

  it('runs an activity from draft to verified attendance', async () => {
    const now = Date.now();
    const created = await api('POST', '/api/v1/activities', {
      token: organizer.token,
      body: {
        title: '老东湖巡逻',
        category: 'patrol',
        location: { ...site, radiusMeters: 200 },
        startAt: new Date(now - 10 * 60_000).toISOString(),
        endAt: new Date(now + 2 * 3600_000).toISOString(),
        capacity: 5,
        pointsPerHour: 10,
      },
    });
    expect(created.status).toBe(201);
    expect(created.body.status).toBe('draft');
    activityId = created.body.id;

    const published = await api('POST', `/api/v1/activities/${activityId}/publish`, { token: organizer.token });
    expect(published.status).toBe(200);
    expect(published.body.status).toBe('published');

    const signup = await api('POST', `/api/v1/activities/${activityId}/signups`, { token: volunteer.token });
    expect(signup.status).toBe(201);
    expect(signup.body.status).toBe('confirmed');

    const codeResponse = await api('GET', `/api/v1/activities/${activityId}/checkin-code`, { token: organizer.token });
    expect(codeResponse.status).toBe(200);
    const { code } = codeResponse.body;

    const checkin = await api('POST', `/api/v1/activities/${activityId}/checkins`, { token: volunteer.token, body: { code, ...site } });
    expect(checkin.status).toBe(201);
    expect(checkin.body.status).toBe('checked_in');

    const again = await api('POST', `/api/v1/activities/${activityId}/checkins`, { token: volunteer.token, body: { code, ...site } });
    expect(again.status).toBe(409);

    const checkout = await api('POST', `/api/v1/activities/${activityId}/checkouts`, { token: volunteer.token, body: { code, ...site } });
    expect(checkout.status).toBe(201);
    expect(checkout.body.minutes).toBe(0);

    // The stay lasted seconds; the organizer records the real 90 minutes, with a reason.
    const completed = await api('POST', `/api/v1/activities/${activityId}/complete`, {
      token: organizer.token,
      body: { adjustments: [{ userId: volunteer.userId, minutes: 90, reason: '签到设备故障，按纸质签到表补录' }] },
    });
    expect(completed.status).toBe(200);
    expect(completed.body.attendances).toEqual([expect.objectContaining({ userId: volunteer.userId, minutes: 90, points: 15 })]);
  });

  it('publishes the verified attendance on Kafka and credits it once', async () => {
    const attendanceId = `${activityId}:${volunteer.userId}`;
    const onTopic = await eventually(async () => {
      const found = recorder.messages.filter((message) => message.topic === attendanceVerified.topic && message.key === attendanceId);
      return found.length > 0 ? found : undefined;
    });
    const event = JSON.parse(onTopic[0]!.value!.toString());
    expect(event).toMatchObject({
      type: 'AttendanceVerified',
      version: 1,
      source: 'volunteer',
      subject: attendanceId,
      data: { userId: volunteer.userId, minutes: 90, pointsPerHour: 10 },
    });

    // Points and minutes are two transfers; wait until both have landed.
    await balanceReaches(volunteer, { points: 15, timeMinutes: 90, heldPoints: 0, heldMinutes: 0 });

    // Deliver the very same event again, then a poison message with the same key: they share a
    // partition, so once the poison message reaches the dead-letter topic the duplicate has
    // certainly been handled.
    await producer.send([{ topic: attendanceVerified.topic, key: attendanceId, value: onTopic[0]!.value!.toString() }]);
    await producer.send([{ topic: attendanceVerified.topic, key: attendanceId, value: 'this is not an event' }]);
    const deadLetter = await eventually(async () =>
      recorder.messages.find((message) => message.topic === deadLetterTopic(attendanceVerified.topic) && message.key === attendanceId),
    );
    expect(deadLetter.value?.toString()).toBe('this is not an event');
    expect(deadLetter.headers['x-dlq-error']).toContain('not JSON');

    const after = await api('GET', '/api/v1/points/balance', { token: volunteer.token });
    expect(after.body).toEqual({ points: 15, timeMinutes: 90, heldPoints: 0, heldMinutes: 0, lifetimePoints: 15, starTier: 0 });
  });

  it('keeps consuming after a poison message', async () => {
    // The consumer is still alive: an organizer's second activity is credited as well.
    const now = Date.now();
    const created = await api('POST', '/api/v1/activities', {
      token: organizer.token,
      body: {
        title: '敬老院探访',
        category: 'elderly_care',
        location: { ...site, radiusMeters: 100 },
        startAt: new Date(now - 60_000).toISOString(),
        endAt: new Date(now + 3600_000).toISOString(),
        capacity: 1,
        pointsPerHour: 6,
      },
    });
    const id = created.body.id;
    await api('POST', `/api/v1/activities/${id}/publish`, { token: organizer.token });
    await api('POST', `/api/v1/activities/${id}/signups`, { token: volunteer.token });
    const { body: codeBody } = await api('GET', `/api/v1/activities/${id}/checkin-code`, { token: organizer.token });
    expect((await api('POST', `/api/v1/activities/${id}/checkins`, { token: volunteer.token, body: { code: codeBody.code, ...site } })).status).toBe(201);
    const completed = await api('POST', `/api/v1/activities/${id}/complete`, {
      token: organizer.token,
      body: { adjustments: [{ userId: volunteer.userId, minutes: 30, reason: '补录' }] },
    });
    expect(completed.body.attendances[0]).toMatchObject({ minutes: 30, points: 3 });
    await balanceReaches(volunteer, { points: 18, timeMinutes: 120, heldPoints: 0, heldMinutes: 0 });
  });
});
