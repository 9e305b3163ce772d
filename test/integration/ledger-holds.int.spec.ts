import { DomainError } from '@lovepoints/errors';
import { callUnary, createClients, type ServiceClients } from '@lovepoints/grpc';
import { randomUUID } from 'node:crypto';
import { topics } from '@lovepoints/events';
import { eventually } from '../support/api';
import { recordTopic, testKafka } from '../support/kafka';
import { platform } from '../support/platform';

/** Holds, reversals, batches and statements through the points service's gRPC port. */
describe('ledger holds, reversals, batches and statements', () => {
  let clients: ServiceClients;
  const communityId = `holds-spec-${randomUUID()}`;
  const issuance = { kind: 'community_issuance', id: communityId, communityId };
  const member = (id: string) => ({ kind: 'member', id, communityId });
  const shop = { kind: 'shop', id: `shop-${randomUUID()}`, communityId };
  const deadline = { deadlineMs: 10_000 };
  const failureOf = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: unknown) => error as DomainError,
    );

  beforeAll(() => {
    clients = createClients({ volunteer: '127.0.0.1:1', points: platform.TEST_POINTS_GRPC_ADDRESS, redeem: '127.0.0.1:1', timebank: '127.0.0.1:1' });
  });
  afterAll(() => Object.values(clients).forEach((client) => client.close()));

  const transfer = (request: Record<string, unknown>) =>
    callUnary(clients.points, 'createTransfer', { asset: 'POINTS', reason: 'adjustment', reference: 'spec', ...request }, deadline);
  const hold = (userId: string, amount: number, timeoutMs = 60_000, transferId = randomUUID()) =>
    callUnary(
      clients.points,
      'createHold',
      { transfer: { transferId, debit: member(userId), credit: shop, asset: 'POINTS', amount, reason: 'redemption', reference: 'order' }, timeoutMs },
      deadline,
    );
  const balanceOf = async (userId: string) => {
    const caller = { userId, roles: [], communityId, street: '' };
    return callUnary(clients.points, 'getBalance', { userId }, { caller, deadlineMs: 5000 });
  };
  async function funded(amount: number): Promise<string> {
    const userId = `member-${randomUUID()}`;
    await transfer({ transferId: randomUUID(), debit: issuance, credit: member(userId), amount });
    return userId;
  }

  it('holds an amount, then posts less than held and returns the rest', async () => {
    const userId = await funded(100);
    const placed = await hold(userId, 40);
    expect(placed).toMatchObject({ state: 'pending', amount: 40, heldAmount: 40 });
    expect(await balanceOf(userId)).toMatchObject({ points: 60, heldPoints: 40 });
    const posted = await callUnary(clients.points, 'postHold', { transferId: placed.id, amount: 25 }, deadline);
    expect(posted).toMatchObject({ state: 'posted', amount: 25, heldAmount: 40 });
    expect(await balanceOf(userId)).toMatchObject({ points: 75, heldPoints: 0 });
    // The same post again is the same result; a void after a post is refused.
    expect(await callUnary(clients.points, 'postHold', { transferId: placed.id, amount: 25 }, deadline)).toMatchObject({ state: 'posted', amount: 25 });
    expect((await failureOf(callUnary(clients.points, 'voidHold', { transferId: placed.id }, deadline)))?.code).toBe('hold_already_posted');
    expect((await failureOf(callUnary(clients.points, 'postHold', { transferId: placed.id, amount: 30 }, deadline)))?.code).toBe('hold_already_posted');
  });

  it('refuses to post more than held, and a hold larger than the balance', async () => {
    const userId = await funded(10);
    expect((await failureOf(hold(userId, 11)))?.code).toBe('insufficient_balance');
    const placed = await hold(userId, 10);
    expect((await failureOf(callUnary(clients.points, 'postHold', { transferId: placed.id, amount: 11 }, deadline)))?.code).toBe('exceeds_held_amount');
    expect(await balanceOf(userId)).toMatchObject({ points: 0, heldPoints: 10 });
  });

  it('voids a hold once and refuses a post after it', async () => {
    const userId = await funded(50);
    const placed = await hold(userId, 30);
    expect(await callUnary(clients.points, 'voidHold', { transferId: placed.id }, deadline)).toMatchObject({ state: 'voided' });
    expect(await callUnary(clients.points, 'voidHold', { transferId: placed.id }, deadline)).toMatchObject({ state: 'voided' });
    expect((await failureOf(callUnary(clients.points, 'postHold', { transferId: placed.id, amount: 0 }, deadline)))?.code).toBe('hold_already_voided');
    expect(await balanceOf(userId)).toMatchObject({ points: 50, heldPoints: 0 });
  });

  it('lets exactly one of a concurrent post and void win', async () => {
    const userId = await funded(20);
    const placed = await hold(userId, 20);
    const outcomes = await Promise.allSettled([
      callUnary(clients.points, 'postHold', { transferId: placed.id, amount: 0 }, deadline),
      callUnary(clients.points, 'voidHold', { transferId: placed.id }, deadline),
      callUnary(clients.points, 'postHold', { transferId: placed.id, amount: 0 }, deadline),
      callUnary(clients.points, 'voidHold', { transferId: placed.id }, deadline),
    ]);
    const final = await callUnary(clients.points, 'getTransfer', { transferId: placed.id }, deadline);
    expect(['posted', 'voided']).toContain(final.state);
    for (const outcome of outcomes) {
      if (outcome.status === 'fulfilled') expect(outcome.value.state).toBe(final.state);
    }
    expect(await balanceOf(userId)).toMatchObject({ points: final.state === 'posted' ? 0 : 20, heldPoints: 0 });
  });

  it('expires a hold by itself and refuses to post it afterwards', async () => {
    const userId = await funded(30);
    const placed = await hold(userId, 30, 1000);
    expect(await balanceOf(userId)).toMatchObject({ points: 0, heldPoints: 30 });
    await eventually(async () => ((await balanceOf(userId)).points === 30 ? true : undefined), 15_000);
    expect(await balanceOf(userId)).toMatchObject({ points: 30, heldPoints: 0 });
    expect((await failureOf(callUnary(clients.points, 'postHold', { transferId: placed.id, amount: 0 }, deadline)))?.code).toBe('hold_expired');
  });

  it('refuses holds with an absurd timeout', async () => {
    const userId = await funded(5);
    const failure = await failureOf(hold(userId, 1, 10));
    expect(failure?.kind).toBe('invalid_argument');
    expect(failure?.code).toBe('invalid_timeout');
  });

  it('reverses a posted transfer once', async () => {
    const userId = await funded(40);
    const spend = await transfer({ transferId: randomUUID(), debit: member(userId), credit: shop, amount: 15, reason: 'redemption' });
    expect((await balanceOf(userId)).points).toBe(25);
    const reversalId = randomUUID();
    const reversal = await callUnary(clients.points, 'reverseTransfer', { transferId: spend.id, reversalId }, deadline);
    expect(reversal).toMatchObject({ state: 'posted', amount: 15, reason: 'reversal', reference: spend.id });
    expect((await balanceOf(userId)).points).toBe(40);
    expect((await callUnary(clients.points, 'reverseTransfer', { transferId: spend.id, reversalId }, deadline)).id).toBe(reversalId);
    expect((await failureOf(callUnary(clients.points, 'reverseTransfer', { transferId: spend.id, reversalId: randomUUID() }, deadline)))?.code).toBe(
      'already_reversed',
    );
    expect((await balanceOf(userId)).points).toBe(40);
  });

  it('gives each batch item its own result and applies only the good ones', async () => {
    const userId = await funded(10);
    const repeatedId = randomUUID();
    const { results } = await callUnary(
      clients.points,
      'createTransfers',
      {
        transfers: [
          { transferId: randomUUID(), debit: member(userId), credit: shop, asset: 'POINTS', amount: 4, reason: 'redemption' },
          { transferId: randomUUID(), debit: member(userId), credit: shop, asset: 'POINTS', amount: 0, reason: 'redemption' },
          { transferId: repeatedId, debit: member(userId), credit: shop, asset: 'POINTS', amount: 5, reason: 'redemption' },
          { transferId: randomUUID(), debit: member(userId), credit: shop, asset: 'POINTS', amount: 5, reason: 'redemption' },
          { transferId: repeatedId, debit: member(userId), credit: shop, asset: 'POINTS', amount: 5, reason: 'redemption' },
        ],
      },
      deadline,
    );
    expect(results.map((result) => result.result)).toEqual(['ok', 'amount_must_be_positive', 'ok', 'insufficient_balance', 'ok']);
    expect(results[4]!.transfer?.id).toBe(repeatedId);
    expect((await balanceOf(userId)).points).toBe(1);
  });

  it('writes statements newest first with the balance after each movement, page by page', async () => {
    const userId = await funded(100);
    for (const amount of [10, 20, 30]) await transfer({ transferId: randomUUID(), debit: member(userId), credit: shop, amount, reason: 'redemption' });
    await transfer({ transferId: randomUUID(), debit: issuance, credit: member(userId), amount: 7, reason: 'report_reward' });
    const caller = { userId, roles: [], communityId, street: '' };
    const first = await callUnary(clients.points, 'getStatement', { userId, asset: 'POINTS', page: { limit: 2, cursor: '' } }, { caller, deadlineMs: 5000 });
    expect(first.items.map((item) => [item.direction, item.amount, item.balanceAfter])).toEqual([
      ['credit', 7, 47],
      ['debit', 30, 40],
    ]);
    const second = await callUnary(
      clients.points,
      'getStatement',
      { userId, asset: 'POINTS', page: { limit: 2, cursor: first.nextCursor } },
      { caller, deadlineMs: 5000 },
    );
    expect(second.items.map((item) => [item.direction, item.amount, item.balanceAfter])).toEqual([
      ['debit', 20, 70],
      ['debit', 10, 90],
    ]);
    const third = await callUnary(
      clients.points,
      'getStatement',
      { userId, asset: 'POINTS', page: { limit: 2, cursor: second.nextCursor } },
      { caller, deadlineMs: 5000 },
    );
    expect(third.items.map((item) => [item.direction, item.amount, item.balanceAfter])).toEqual([['credit', 100, 100]]);
    expect(third.nextCursor).toBe('');
  });

  it('expires unspent points after the community’s expiry period, once, and never TIME', async () => {
    const expiringCommunity = `expiry-spec-${randomUUID()}`;
    const userId = `member-${randomUUID()}`;
    const owner = { kind: 'member', id: userId, communityId: expiringCommunity };
    const source = { kind: 'community_issuance', id: expiringCommunity, communityId: expiringCommunity };
    await transfer({ transferId: randomUUID(), debit: source, credit: owner, amount: 50 });
    await transfer({ transferId: randomUUID(), debit: owner, credit: shop, amount: 20, reason: 'redemption' });
    await transfer({ transferId: randomUUID(), debit: source, credit: owner, amount: 40, asset: 'TIME' });
    const expire = (asOf: Date) => callUnary(clients.points, 'expirePoints', { communityId: expiringCommunity, asOf: asOf.toISOString() }, deadline);
    expect(await expire(new Date(Date.now() + 62 * 24 * 3600_000))).toMatchObject({ pointsExpired: 0, cutoff: '' });

    const organizer = { userId: 'expiry-organizer', roles: ['organizer' as const], communityId: expiringCommunity, street: '' };
    const rules = await callUnary(clients.points, 'getEarningRules', { communityId: '' }, { caller: organizer, deadlineMs: 5000 });
    await callUnary(clients.points, 'setEarningRules', { ...rules, pointsExpiryMonths: 1 }, { caller: organizer, deadlineMs: 5000 });

    // Credited this month: not yet expired now, expired once two months on.
    expect(await expire(new Date())).toMatchObject({ pointsExpired: 0 });
    const later = new Date(Date.now() + 62 * 24 * 3600_000);
    expect(await expire(later)).toMatchObject({ membersChecked: 1, pointsExpired: 30 });
    expect(await expire(later)).toMatchObject({ pointsExpired: 0 });
    const caller = { userId, roles: [], communityId: expiringCommunity, street: '' };
    expect(await callUnary(clients.points, 'getBalance', { userId }, { caller, deadlineMs: 5000 })).toMatchObject({ points: 0, timeMinutes: 40 });
    const statement = await callUnary(
      clients.points,
      'getStatement',
      { userId, asset: 'POINTS', page: { limit: 1, cursor: '' } },
      { caller, deadlineMs: 5000 },
    );
    expect(statement.items[0]).toMatchObject({ direction: 'debit', amount: 30, reason: 'expiry', balanceAfter: 0 });
  });

  it('publishes what happened to transfers on points.transfer.v1 through the outbox', async () => {
    const kafka = testKafka();
    const recorder = await recordTopic(kafka, [topics.transfer]);
    try {
      const userId = await funded(30);
      const placed = await hold(userId, 12);
      await callUnary(clients.points, 'postHold', { transferId: placed.id, amount: 10 }, deadline);
      const voidedHold = await hold(userId, 5);
      await callUnary(clients.points, 'voidHold', { transferId: voidedHold.id }, deadline);
      const events = await eventually(async () => {
        const found = recorder.messages.map(
          (message) => JSON.parse(message.value!.toString()) as { type: string; subject: string; data: Record<string, unknown> },
        );
        const mine = found.filter((event) => event.subject === placed.id || event.subject === voidedHold.id);
        return mine.length >= 4 ? mine : undefined;
      });
      expect(events.filter((event) => event.subject === placed.id).map((event) => [event.type, event.data.heldAmount ?? event.data.amount])).toEqual([
        ['HoldPlaced', 12],
        ['TransferPosted', 10],
      ]);
      expect(events.filter((event) => event.subject === voidedHold.id).map((event) => [event.type, event.data.expired])).toEqual([
        ['HoldPlaced', undefined],
        ['HoldVoided', false],
      ]);
    } finally {
      await recorder.stop();
      await kafka.disconnect();
    }
  });

  it('verifies: every balance equals the replay of its transfers and each asset sums to zero', async () => {
    const report = await eventually(async () => {
      const result = await callUnary(clients.points, 'verifyLedger', {}, deadline);
      return result.transfersInFlight === 0 ? result : undefined;
    });
    expect(report.differences).toEqual([]);
    for (const sum of report.sums) expect(sum.postedSum).toBe(0);
    expect(report.transfersChecked).toBeGreaterThan(10);
  });
});
