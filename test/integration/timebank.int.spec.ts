import { topics } from '@lovepoints/events';
import { callUnary, createClients } from '@lovepoints/grpc';
import mongoose from 'mongoose';
import { randomUUID } from 'node:crypto';
import { api, type ApiResponse, approvedVolunteer, communityWithOrganizer, eventually, register, type Session } from '../support/api';
import { recordTopic, testKafka } from '../support/kafka';
import { platform } from '../support/platform';

/**
 * The time bank through the gateway, against the real services: orders in five steps, minutes
 * held at acceptance and paid at confirmation through the ledger, the payer fallback
 * (own → relative → pool → refused), disputes, cancellations, family links, escalation.
 */
describe('time bank: service orders paid with stored minutes', () => {
  const clients = createClients({
    volunteer: platform.TEST_VOLUNTEER_GRPC_ADDRESS,
    points: platform.TEST_POINTS_GRPC_ADDRESS,
    redeem: '127.0.0.1:1',
    timebank: platform.TEST_TIMEBANK_GRPC_ADDRESS,
  });
  const kafka = testKafka();
  let recorder: Awaited<ReturnType<typeof recordTopic>>;
  let communityId: string;
  let organizer: Session;
  let volunteer: Session;

  const inHours = (hours: number) => new Date(Date.now() + hours * 3600_000).toISOString();

  /** Minutes issued by the community to a member, as attendance would credit them. */
  async function fund(member: Session, minutes: number) {
    await callUnary(
      clients.points,
      'createTransfer',
      {
        transferId: `spec-fund:${randomUUID()}`,
        debit: { kind: 'community_issuance', id: communityId, communityId },
        credit: { kind: 'member', id: member.userId, communityId },
        asset: 'TIME',
        amount: minutes,
        reason: 'adjustment',
        reference: 'spec',
      },
      { deadlineMs: 5000 },
    );
  }

  async function minutesOf(member: Session): Promise<{ timeMinutes: number; heldMinutes: number }> {
    const { body } = await api('GET', '/api/v1/points/balance', { token: member.token });
    return { timeMinutes: body.timeMinutes, heldMinutes: body.heldMinutes };
  }

  async function placeOrder(requester: Session, overrides: Record<string, unknown> = {}) {
    const placed = await api('POST', '/api/v1/timebank/requests', {
      token: requester.token,
      body: { category: 'companionship', description: '陪老人聊天、读报', startAt: inHours(2), minutes: 60, place: '3号楼2单元501', ...overrides },
    });
    expect(placed.status).toBe(201);
    return placed.body as { id: string; status: string; minutes: number };
  }

  const step = (session: Session, orderId: string, path: string, body: unknown = {}, headers: Record<string, string> = {}) =>
    api('POST', `/api/v1/timebank/requests/${orderId}/${path}`, { token: session.token, body, headers });

  function expectRefused(response: ApiResponse, status: number, code: string) {
    expect({ status: response.status, code: response.body?.code }).toEqual({ status, code });
  }

  /** Takes an order through accept, start and complete; returns the completed order. */
  async function servedOrder(requester: Session, minutes = 60, actualMinutes = minutes) {
    const order = await placeOrder(requester, { minutes });
    expect((await step(volunteer, order.id, 'accept')).status).toBe(200);
    expect((await step(volunteer, order.id, 'start')).status).toBe(200);
    const completed = await step(volunteer, order.id, 'complete', { actualMinutes });
    expect(completed.status).toBe(200);
    return completed.body as { id: string; status: string };
  }

  /** An approved family link in which `payer` pays for `beneficiary`. */
  async function payingLink(payer: Session, beneficiary: Session) {
    const asked = await api('POST', '/api/v1/timebank/family-links', {
      token: payer.token,
      body: { relativePhone: beneficiary.phone, relationship: 'parent', requesterPays: true },
    });
    expect(asked.status).toBe(201);
    expect(asked.body.status).toBe('pending');
    const approved = await api('POST', `/api/v1/timebank/family-links/${asked.body.id}/approve`, { token: beneficiary.token, body: {} });
    expect(approved.status).toBe(200);
    return approved.body as { id: string; status: string };
  }

  beforeAll(async () => {
    recorder = await recordTopic(kafka, [topics.timebankOrder]);
    ({ communityId, organizer } = await communityWithOrganizer());
    volunteer = await approvedVolunteer(communityId, organizer);
  });
  afterAll(async () => {
    await recorder.stop();
    await kafka.disconnect();
    Object.values(clients).forEach((client) => client.close());
  });

  it('runs the five steps: held at acceptance, paid from own minutes at confirmation, rated, with events', async () => {
    const elder = await register(communityId, '王奶奶');
    await fund(elder, 120);
    const order = await placeOrder(elder);
    expect(order).toMatchObject({ status: 'open', minutes: 60 });

    const accepted = await step(volunteer, order.id, 'accept');
    expect(accepted.body).toMatchObject({ status: 'accepted', volunteerUserId: volunteer.userId, holds: [{ payerKind: 'own', minutes: 60, state: 'held' }] });
    expect(await minutesOf(elder)).toEqual({ timeMinutes: 60, heldMinutes: 60 });

    expect((await step(volunteer, order.id, 'start')).body.status).toBe('in_progress');
    expect((await step(volunteer, order.id, 'complete', { actualMinutes: 45 })).body).toMatchObject({ status: 'completed', actualMinutes: 45 });
    const confirmed = await step(elder, order.id, 'confirm', {}, { 'Idempotency-Key': `confirm-${order.id}` });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body).toMatchObject({ status: 'verified', paidMinutes: 45, paidFrom: [{ payerKind: 'own', payerUserId: elder.userId, minutes: 45 }] });
    // The same Idempotency-Key replays the answer; without it, a second confirm is a conflict.
    expect((await step(elder, order.id, 'confirm', {}, { 'Idempotency-Key': `confirm-${order.id}` })).body.status).toBe('verified');
    expectRefused(await step(elder, order.id, 'confirm'), 409, 'wrong_status');
    expect(await minutesOf(elder)).toEqual({ timeMinutes: 75, heldMinutes: 0 });
    expect(await minutesOf(volunteer)).toEqual({ timeMinutes: 45, heldMinutes: 0 });

    const rated = await step(elder, order.id, 'rate', { stars: 5, comment: '小伙子很耐心' });
    expect(rated.body).toMatchObject({ status: 'rated', rating: { stars: 5, comment: '小伙子很耐心' } });
    expectRefused(await step(elder, order.id, 'rate', { stars: 1 }), 409, 'already_rated');
    const reputation = await api('GET', `/api/v1/timebank/volunteers/${volunteer.userId}`, { token: elder.token });
    expect(reputation.body).toEqual({ userId: volunteer.userId, ratingCount: 1, ratingAverage: 5 });
    expect(await minutesOf(volunteer)).toEqual({ timeMinutes: 45, heldMinutes: 0 });

    const types = await eventually(async () => {
      const found = recorder.messages
        .map((message) => JSON.parse(message.value!.toString()) as { type: string; subject: string })
        .filter((event) => event.subject === order.id);
      return found.length >= 6 ? found.map((event) => event.type) : undefined;
    });
    expect(types).toEqual([
      'ServiceOrderPlaced',
      'ServiceOrderAccepted',
      'ServiceOrderStarted',
      'ServiceOrderCompleted',
      'ServiceOrderVerified',
      'ServiceOrderRated',
    ]);

    const document = await api('GET', '/api/openapi.json');
    for (const path of ['accept', 'assign', 'decline', 'start', 'complete', 'confirm', 'dispute', 'resolve', 'rate', 'cancel']) {
      expect(document.body.paths[`/api/v1/timebank/requests/{id}/${path}`]?.post).toBeDefined();
    }
    expect(document.body.paths['/api/v1/timebank/requests/{id}/confirm'].post.parameters.map((parameter: { name: string }) => parameter.name)).toContain(
      'Idempotency-Key',
    );
  });

  it('lets exactly one of 20 volunteers grab an order, and holds the minutes once', async () => {
    const elder = await register(communityId, '李爷爷');
    await fund(elder, 60);
    const order = await placeOrder(elder, { category: 'shopping', minutes: 30 });
    const racers = await Promise.all(Array.from({ length: 20 }, () => approvedVolunteer(communityId, organizer)));
    const results = await Promise.all(racers.map((racer) => step(racer, order.id, 'accept')));
    const winners = results.filter((result) => result.status === 200);
    expect(winners).toHaveLength(1);
    expect(results.filter((result) => result.status === 409)).toHaveLength(19);
    const current = await api('GET', `/api/v1/timebank/requests/${order.id}`, { token: elder.token });
    expect(current.body.volunteerUserId).toBe(winners[0]!.body.volunteerUserId);
    expect(current.body.holds).toHaveLength(1);
    expect(await minutesOf(elder)).toEqual({ timeMinutes: 30, heldMinutes: 30 });
  });

  it('pays from a relative who agreed to pay when the beneficiary has too few minutes', async () => {
    const elder = await register(communityId, '赵奶奶');
    const son = await register(communityId, '赵先生');
    await fund(elder, 10);
    await fund(son, 100);
    await payingLink(son, elder);
    const order = await servedOrder(elder, 40);
    expect((await api('GET', `/api/v1/timebank/requests/${order.id}`, { token: elder.token })).body.holds).toEqual([
      expect.objectContaining({ payerKind: 'relative', payerUserId: son.userId, minutes: 40, state: 'held' }),
    ]);
    // The son is linked, so he may confirm for his mother.
    const confirmed = await step(son, order.id, 'confirm');
    expect(confirmed.body).toMatchObject({ status: 'verified', paidFrom: [{ payerKind: 'relative', payerUserId: son.userId, minutes: 40 }] });
    expect(await minutesOf(son)).toEqual({ timeMinutes: 60, heldMinutes: 0 });
    expect(await minutesOf(elder)).toEqual({ timeMinutes: 10, heldMinutes: 0 });
  });

  it('pays from the community pool for an eligible elder, and refuses with nothing moved when nobody can pay', async () => {
    const donor = await register(communityId, '热心居民');
    await fund(donor, 100);
    const donation = await api('POST', '/api/v1/timebank/donations', {
      token: donor.token,
      body: { minutes: 80 },
      headers: { 'Idempotency-Key': `donation-${donor.userId}` },
    });
    expect(donation.status).toBe(201);
    // The same key is the same donation.
    expect(
      (
        await api('POST', '/api/v1/timebank/donations', {
          token: donor.token,
          body: { minutes: 80 },
          headers: { 'Idempotency-Key': `donation-${donor.userId}` },
        })
      ).body.transferId,
    ).toBe(donation.body.transferId);
    expect(await minutesOf(donor)).toEqual({ timeMinutes: 20, heldMinutes: 0 });
    const poolBefore = (await api('GET', '/api/v1/timebank/pool', { token: organizer.token })).body.availableMinutes as number;

    const poor = await register(communityId, '孙爷爷');
    const refusedOrder = await placeOrder(poor, { minutes: 30 });
    expectRefused(await step(volunteer, refusedOrder.id, 'accept'), 409, 'insufficient_time');
    const waiting = await api('GET', `/api/v1/timebank/requests/${refusedOrder.id}`, { token: poor.token });
    expect(waiting.body).toMatchObject({ status: 'open', volunteerUserId: null, holds: [] });
    expect(await minutesOf(poor)).toEqual({ timeMinutes: 0, heldMinutes: 0 });

    const flagged = await api('PUT', `/api/v1/timebank/beneficiaries/${poor.userId}`, { token: organizer.token, body: { birthDate: '1948-05-01' } });
    expect(flagged.body).toMatchObject({ eligibleNow: true, poolEligible: false });
    const accepted = await step(volunteer, refusedOrder.id, 'accept');
    expect(accepted.body.holds).toEqual([expect.objectContaining({ payerKind: 'pool', payerUserId: null, minutes: 30, state: 'held' })]);
    expect((await step(volunteer, refusedOrder.id, 'start')).status).toBe(200);
    expect((await step(volunteer, refusedOrder.id, 'complete', { actualMinutes: 30 })).status).toBe(200);
    expect((await step(poor, refusedOrder.id, 'confirm')).body).toMatchObject({ status: 'verified', paidFrom: [{ payerKind: 'pool', minutes: 30 }] });
    const pool = await api('GET', '/api/v1/timebank/pool', { token: organizer.token });
    expect(pool.body).toMatchObject({ communityId, availableMinutes: poolBefore - 30, heldMinutes: 0 });
    expect(pool.body.items.slice(0, 1)).toEqual([expect.objectContaining({ minutes: 30, direction: 'debit', reference: refusedOrder.id })]);
    expect(pool.body.items.map((item: { transferId: string }) => item.transferId)).toContain(donation.body.transferId);
    expect((await api('GET', '/api/v1/timebank/pool', { token: poor.token })).status).toBe(403);
  });

  it('settles a dispute: an organizer pays a corrected number of minutes, or cancels and the hold returns', async () => {
    const elder = await register(communityId, '周奶奶');
    await fund(elder, 200);
    const paid = await servedOrder(elder, 60, 90);
    expect((await step(elder, paid.id, 'dispute', { reason: '实际只服务了半小时' })).body.status).toBe('disputed');
    expectRefused(await step(elder, paid.id, 'confirm'), 409, 'wrong_status');
    expect((await step(volunteer, paid.id, 'resolve', { decision: 'pay' })).status).toBe(403);
    const resolved = await step(organizer, paid.id, 'resolve', { decision: 'pay', minutes: 30, note: '核实为30分钟' });
    expect(resolved.body).toMatchObject({ status: 'verified', paidMinutes: 30, confirmedByUserId: organizer.userId });
    expect(await minutesOf(elder)).toEqual({ timeMinutes: 170, heldMinutes: 0 });

    const cancelled = await servedOrder(elder, 60);
    expect((await step(elder, cancelled.id, 'dispute', { reason: '志愿者没有来' })).status).toBe(200);
    expect((await step(organizer, cancelled.id, 'resolve', { decision: 'cancel', note: '未提供服务' })).body).toMatchObject({
      status: 'cancelled',
      holds: [expect.objectContaining({ state: 'voided' })],
    });
    expect(await minutesOf(elder)).toEqual({ timeMinutes: 170, heldMinutes: 0 });
  });

  it('pays minutes beyond the estimate by holding the difference at confirmation', async () => {
    const elder = await register(communityId, '吴爷爷');
    await fund(elder, 100);
    const order = await servedOrder(elder, 30, 50);
    const confirmed = await step(elder, order.id, 'confirm');
    expect(confirmed.body).toMatchObject({ status: 'verified', paidMinutes: 50 });
    expect(confirmed.body.paidFrom.reduce((sum: number, payer: { minutes: number }) => sum + payer.minutes, 0)).toBe(50);
    expect(await minutesOf(elder)).toEqual({ timeMinutes: 50, heldMinutes: 0 });
  });

  it('releases the hold when an order is cancelled at any step before verification', async () => {
    const elder = await register(communityId, '郑奶奶');
    await fund(elder, 100);
    const untouched = { timeMinutes: 100, heldMinutes: 0 };

    const open = await placeOrder(elder);
    expect((await step(elder, open.id, 'cancel', { reason: '家人来陪了' })).body.status).toBe('cancelled');

    const accepted = await placeOrder(elder);
    await step(volunteer, accepted.id, 'accept');
    expect(await minutesOf(elder)).toEqual({ timeMinutes: 40, heldMinutes: 60 });
    expect((await step(elder, accepted.id, 'cancel')).body.status).toBe('cancelled');
    expect(await minutesOf(elder)).toEqual(untouched);

    const started = await placeOrder(elder);
    await step(volunteer, started.id, 'accept');
    await step(volunteer, started.id, 'start');
    expectRefused(await step(elder, started.id, 'cancel'), 409, 'wrong_status');
    expect((await step(volunteer, started.id, 'cancel')).status).toBe(403);
    expect((await step(organizer, started.id, 'cancel', { reason: '老人住院' })).body.status).toBe('cancelled');
    expect(await minutesOf(elder)).toEqual(untouched);

    const completed = await servedOrder(elder);
    expect((await step(organizer, completed.id, 'cancel')).body.status).toBe('cancelled');
    expect(await minutesOf(elder)).toEqual(untouched);

    const disputed = await servedOrder(elder);
    await step(elder, disputed.id, 'dispute', { reason: '服务不满意' });
    expect((await step(organizer, disputed.id, 'cancel', {}, { 'Idempotency-Key': `cancel-${disputed.id}` })).body.status).toBe('cancelled');
    expect((await step(organizer, disputed.id, 'cancel', {}, { 'Idempotency-Key': `cancel-${disputed.id}` })).status).toBe(200);
    expect(await minutesOf(elder)).toEqual(untouched);
    expect(await minutesOf(volunteer)).toMatchObject({ heldMinutes: 0 });
  });

  it('lets the volunteer decline before starting: the hold is voided and the order reopens', async () => {
    const elder = await register(communityId, '冯爷爷');
    await fund(elder, 60);
    const order = await placeOrder(elder);
    expect((await step(volunteer, order.id, 'assign', { volunteerUserId: volunteer.userId })).status).toBe(403);
    expectRefused(await step(organizer, order.id, 'assign', { volunteerUserId: elder.userId }), 422, 'not_a_volunteer');
    const assigned = await step(organizer, order.id, 'assign', { volunteerUserId: volunteer.userId });
    expect(assigned.body).toMatchObject({ status: 'accepted', assignedByUserId: organizer.userId, volunteerUserId: volunteer.userId });
    expect(await minutesOf(elder)).toEqual({ timeMinutes: 0, heldMinutes: 60 });
    expectRefused(await step(organizer, order.id, 'assign', { volunteerUserId: volunteer.userId }), 409, 'wrong_status');
    const declined = await step(volunteer, order.id, 'decline');
    expect(declined.body).toMatchObject({ status: 'open', volunteerUserId: null });
    expect(await minutesOf(elder)).toEqual({ timeMinutes: 60, heldMinutes: 0 });
  });

  it('stops a relative who revoked the link from paying or confirming', async () => {
    const elder = await register(communityId, '陈奶奶');
    const daughter = await register(communityId, '陈女士');
    await fund(daughter, 100);
    const link = await payingLink(daughter, elder);
    const order = await servedOrder(elder, 30);
    expect(await minutesOf(daughter)).toEqual({ timeMinutes: 70, heldMinutes: 30 });

    expect((await api('POST', `/api/v1/timebank/family-links/${link.id}/revoke`, { token: daughter.token })).body.status).toBe('revoked');
    expectRefused(await step(daughter, order.id, 'confirm'), 403, 'permission_denied');
    // The beneficiary confirms, but the daughter no longer pays: her hold is voided and nobody else can pay.
    expectRefused(await step(elder, order.id, 'confirm'), 409, 'insufficient_time');
    expect(await minutesOf(daughter)).toEqual({ timeMinutes: 100, heldMinutes: 0 });
    const waiting = await api('GET', `/api/v1/timebank/requests/${order.id}`, { token: elder.token });
    expect(waiting.body).toMatchObject({ status: 'completed', paidMinutes: null });
    expectRefused(
      await api('POST', '/api/v1/timebank/requests', {
        token: daughter.token,
        body: { category: 'cleaning', description: '打扫卫生', startAt: inHours(3), minutes: 60, beneficiaryUserId: elder.userId },
      }),
      422,
      'not_linked',
    );
    // Once the elder has minutes of her own, the order that waited is paid.
    await fund(elder, 30);
    expect((await step(elder, order.id, 'confirm')).body).toMatchObject({ status: 'verified', paidFrom: [{ payerKind: 'own', minutes: 30 }] });
  });

  it('refuses bad input with the field and reason, moving nothing', async () => {
    const elder = await register(communityId, '钱奶奶');
    const stranger = await register(communityId, '路人');
    await fund(elder, 100);
    const place = (body: Record<string, unknown>) =>
      api('POST', '/api/v1/timebank/requests', {
        token: elder.token,
        body: { category: 'repair', description: '修水龙头', startAt: inHours(2), minutes: 60, ...body },
      });
    for (const minutes of [0, -30, 100_000, 1.5]) {
      const refused = await place({ minutes });
      expect(refused.status).toBe(400);
      expect(refused.body.errors.map((error: { path: string }) => error.path)).toEqual(['minutes']);
    }
    const past = await place({ startAt: new Date(Date.now() - 60_000).toISOString() });
    expect(past.status).toBe(400);
    expect(past.body).toMatchObject({ code: 'start_in_past', errors: [{ path: 'startAt' }] });
    expect((await place({ category: 'ufo' })).status).toBe(400);

    const order = await servedOrder(elder, 60);
    for (const actualMinutes of [0, -5, 100_000]) expect((await step(volunteer, order.id, 'complete', { actualMinutes })).status).toBe(400);
    expectRefused(await step(stranger, order.id, 'confirm'), 403, 'permission_denied');
    expectRefused(await step(stranger, order.id, 'rate', { stars: 5 }), 403, 'permission_denied');
    expect((await step(elder, order.id, 'rate', { stars: 6 })).status).toBe(400);
    expect(await minutesOf(elder)).toEqual({ timeMinutes: 40, heldMinutes: 60 });

    const overrun = await placeOrder(elder, { minutes: 30 });
    await step(volunteer, overrun.id, 'accept');
    await step(volunteer, overrun.id, 'start');
    expectRefused(await step(volunteer, overrun.id, 'complete', { actualMinutes: 61 }), 422, 'minutes_over_bound');
    expect((await step(organizer, overrun.id, 'complete', { actualMinutes: 61 })).body.actualMinutes).toBe(61);

    expect((await api('POST', '/api/v1/timebank/donations', { token: elder.token, body: { minutes: 0 } })).status).toBe(400);
    expectRefused(await api('POST', '/api/v1/timebank/donations', { token: elder.token, body: { minutes: 5000 } }), 409, 'insufficient_time');
    expect(await minutesOf(elder)).toEqual({ timeMinutes: 10, heldMinutes: 90 });
    expect(await minutesOf(stranger)).toEqual({ timeMinutes: 0, heldMinutes: 0 });
  });

  it('finishes steps whose runner died: recovery completes a grab and a half-done payment', async () => {
    const elder = await register(communityId, '蒋奶奶');
    await fund(elder, 60);
    const volunteerBefore = await minutesOf(volunteer);
    const order = await placeOrder(elder);
    const connection = await mongoose.createConnection(platform.TEST_MONGO_URL, { dbName: platform.TEST_TIMEBANK_MONGO_DB }).asPromise();
    try {
      const orders = connection.collection<{ _id: string }>('serviceorders');
      const deadRunner = (fields: Record<string, unknown>) => ({
        token: `dead-${randomUUID()}`,
        leaseUntil: new Date(Date.now() - 1000),
        volunteerUserId: '',
        assignedByUserId: '',
        minutes: 0,
        target: '',
        reason: '',
        actorUserId: '',
        requestKey: '',
        step: '',
        ...fields,
      });
      // A volunteer's grab claimed the order, then its process died before holding anything.
      const claimed = await orders.updateOne(
        { _id: order.id, status: 'open', phase: null },
        { $set: { phase: deadRunner({ name: 'take', volunteerUserId: volunteer.userId, actorUserId: volunteer.userId, step: 'accept' }) } },
      );
      expect(claimed.modifiedCount).toBe(1);
      const accepted = await eventually(async () => {
        const current = await api('GET', `/api/v1/timebank/requests/${order.id}`, { token: elder.token });
        return current.body.status === 'accepted' ? current.body : undefined;
      });
      expect(accepted).toMatchObject({ volunteerUserId: volunteer.userId, holds: [expect.objectContaining({ payerKind: 'own', state: 'held', minutes: 60 })] });
      expect(await minutesOf(elder)).toEqual({ timeMinutes: 0, heldMinutes: 60 });

      await step(volunteer, order.id, 'start');
      await step(volunteer, order.id, 'complete', { actualMinutes: 50 });
      // A confirmation claimed the payment and posted the hold, then died before saving the order.
      await orders.updateOne(
        { _id: order.id, status: 'completed', phase: null },
        { $set: { phase: deadRunner({ name: 'pay', minutes: 50, actorUserId: elder.userId, step: 'confirm' }) } },
      );
      await callUnary(clients.points, 'postHold', { transferId: accepted.holds[0].transferId, amount: 50 }, { deadlineMs: 5000 });
      expectRefused(await step(elder, order.id, 'confirm'), 409, 'order_busy');
      const verified = await eventually(async () => {
        const current = await api('GET', `/api/v1/timebank/requests/${order.id}`, { token: elder.token });
        return current.body.status === 'verified' ? current.body : undefined;
      });
      expect(verified).toMatchObject({ paidMinutes: 50, paidFrom: [{ payerKind: 'own', minutes: 50 }], confirmedByUserId: elder.userId });
      expect(await minutesOf(elder)).toEqual({ timeMinutes: 10, heldMinutes: 0 });
      expect(await minutesOf(volunteer)).toEqual({ timeMinutes: volunteerBefore.timeMinutes + 50, heldMinutes: 0 });
    } finally {
      await connection.close();
    }
  });

  // Last: the sweep runs as of a future moment, for every order of the platform.
  it('escalates an order nobody takes grid → community → street, and reopens one not started in time', async () => {
    const elder = await register(communityId, '何爷爷');
    await fund(elder, 60);
    const unclaimed = await placeOrder(elder, { startAt: inHours(48), acceptBy: inHours(1) });
    const sweep = (asOf: string) => callUnary(clients.timebank, 'escalateOverdueOrders', { asOf }, { deadlineMs: 10_000 });
    const levelOf = async (orderId: string) => (await api('GET', `/api/v1/timebank/requests/${orderId}`, { token: elder.token })).body.level as string;
    await sweep(inHours(0.5));
    expect(await levelOf(unclaimed.id)).toBe('grid');
    expect((await sweep(inHours(1.1))).escalated).toBeGreaterThanOrEqual(1);
    expect(await levelOf(unclaimed.id)).toBe('community');
    await sweep(inHours(30));
    expect(await levelOf(unclaimed.id)).toBe('street');

    const late = await placeOrder(elder, { startAt: inHours(50) });
    await step(volunteer, late.id, 'accept');
    expect(await minutesOf(elder)).toEqual({ timeMinutes: 0, heldMinutes: 60 });
    expect((await sweep(inHours(50.4))).reopened).toBe(0);
    expect((await sweep(inHours(50.6))).reopened).toBeGreaterThanOrEqual(1);
    expect((await api('GET', `/api/v1/timebank/requests/${late.id}`, { token: elder.token })).body).toMatchObject({ status: 'open', volunteerUserId: null });
    expect(await minutesOf(elder)).toEqual({ timeMinutes: 60, heldMinutes: 0 });

    const events = await eventually(async () => {
      const found = recorder.messages
        .map((message) => JSON.parse(message.value!.toString()) as { type: string; subject: string; data: { toLevel?: string; reason?: string } })
        .filter(
          (event) =>
            (event.subject === unclaimed.id && event.type === 'ServiceOrderEscalated') || (event.subject === late.id && event.type === 'ServiceOrderReopened'),
        );
      return found.length >= 3 ? found : undefined;
    });
    // Events of one order are in order; the two orders may interleave.
    expect(events.filter((event) => event.subject === unclaimed.id).map((event) => event.data.toLevel)).toEqual(['community', 'street']);
    expect(events.filter((event) => event.subject === late.id).map((event) => event.data.reason)).toEqual(['not_started']);
    // Callers with a user identity cannot run the sweep.
    await expect(
      callUnary(
        clients.timebank,
        'escalateOverdueOrders',
        { asOf: '' },
        { deadlineMs: 5000, caller: { userId: elder.userId, roles: ['resident'], communityId, street: '' } },
      ),
    ).rejects.toMatchObject({ kind: 'permission_denied' });
  });
});
