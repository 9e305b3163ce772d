import { DomainError } from '@lovepoints/errors';
import { callUnary, createClients, type ServiceClients } from '@lovepoints/grpc';
import { randomUUID } from 'node:crypto';
import { platform } from '../support/platform';

/**
 * The ledger's core guarantees through the points service's gRPC port, on the real
 * MongoDB-protocol server (no multi-document transactions).
 */
describe('ledger transfers', () => {
  let clients: ServiceClients;
  const communityId = `ledger-spec-${randomUUID()}`;
  const issuance = { kind: 'community_issuance', id: communityId, communityId };
  const member = (id: string) => ({ kind: 'member', id, communityId });
  const shop = { kind: 'shop', id: `shop-${randomUUID()}`, communityId };

  const transfer = (request: Record<string, unknown>) =>
    callUnary(clients.points, 'createTransfer', { asset: 'POINTS', reason: 'adjustment', reference: 'spec', ...request }, { deadlineMs: 10_000 });
  const failureOf = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: unknown) => error as DomainError,
    );

  beforeAll(() => {
    clients = createClients({
      volunteer: platform.TEST_VOLUNTEER_GRPC_ADDRESS,
      points: platform.TEST_POINTS_GRPC_ADDRESS,
      redeem: '127.0.0.1:1',
      timebank: '127.0.0.1:1',
    });
  });
  afterAll(() => Object.values(clients).forEach((client) => client.close()));

  async function fundedMember(amount: number): Promise<string> {
    const userId = `member-${randomUUID()}`;
    await transfer({ transferId: randomUUID(), debit: issuance, credit: member(userId), amount });
    return userId;
  }

  async function pointsOf(userId: string): Promise<number> {
    const caller = { userId, roles: [], communityId, street: '' };
    const balance = await callUnary(clients.points, 'getBalance', { userId }, { caller, deadlineMs: 5000 });
    return balance.points;
  }

  it('lets exactly ⌊balance / amount⌋ of 64 concurrent spends through, never below zero', async () => {
    const userId = await fundedMember(100);
    const results = await Promise.allSettled(
      Array.from({ length: 64 }, () => transfer({ transferId: randomUUID(), debit: member(userId), credit: shop, amount: 7, reason: 'redemption' })),
    );
    const succeeded = results.filter((result) => result.status === 'fulfilled').length;
    expect(succeeded).toBe(Math.floor(100 / 7));
    for (const result of results) {
      if (result.status === 'rejected') expect((result.reason as DomainError).code).toBe('insufficient_balance');
    }
    expect(await pointsOf(userId)).toBe(100 - 7 * succeeded);
  });

  it('applies the same transfer id sent 10 times concurrently once', async () => {
    const userId = `member-${randomUUID()}`;
    const transferId = randomUUID();
    const results = await Promise.all(Array.from({ length: 10 }, () => transfer({ transferId, debit: issuance, credit: member(userId), amount: 25 })));
    expect(new Set(results.map((result) => result.id))).toEqual(new Set([transferId]));
    expect(await pointsOf(userId)).toBe(25);
  });

  it('takes any characters in a transfer id, field-name characters included', async () => {
    // Phase markers are stored as field names on the accounts: dots, dollars and percent signs
    // must neither break the update nor collide with one another.
    const userId = await fundedMember(50);
    const suffix = randomUUID();
    const ids = ['$order.1', 'order%2e1', 'order.1', 'order%252e1', 'a.b$c%d'].map((id) => `${id}-${suffix}`);
    for (const transferId of ids) await transfer({ transferId, debit: member(userId), credit: shop, amount: 2, reason: 'redemption' });
    for (const transferId of ids) await transfer({ transferId, debit: member(userId), credit: shop, amount: 2, reason: 'redemption' });
    expect(await pointsOf(userId)).toBe(50 - 2 * ids.length);
    const held = await callUnary(
      clients.points,
      'createHold',
      {
        transfer: { transferId: `hold.$%.${randomUUID()}`, debit: member(userId), credit: shop, asset: 'POINTS', amount: 5, reason: 'redemption' },
        timeoutMs: 60_000,
      },
      { deadlineMs: 10_000 },
    );
    const posted = await callUnary(clients.points, 'postHold', { transferId: held.id, amount: 3 }, { deadlineMs: 10_000 });
    expect(posted.state).toBe('posted');
    expect(await pointsOf(userId)).toBe(50 - 2 * ids.length - 3);
  });

  it('refuses an id reused for different content, and writes nothing', async () => {
    const userId = await fundedMember(10);
    const transferId = randomUUID();
    await transfer({ transferId, debit: member(userId), credit: shop, amount: 3, reason: 'redemption' });
    const failure = await failureOf(transfer({ transferId, debit: member(userId), credit: shop, amount: 4, reason: 'redemption' }));
    expect(failure).toBeInstanceOf(DomainError);
    expect(failure?.code).toBe('transfer_id_reused');
    expect(await pointsOf(userId)).toBe(7);
  });

  // A fraction cannot travel in protobuf's int64 at all (the client encoder truncates it), so
  // fractions are refused at the JSON edge and in the ledger's unit spec instead.
  it.each([
    [0, 'amount_must_be_positive'],
    [-5, 'amount_must_be_positive'],
    [2 ** 53, 'amount_too_large'],
  ])('refuses amount %p with %s', async (amount, code) => {
    const userId = await fundedMember(10);
    const failure = await failureOf(transfer({ transferId: randomUUID(), debit: member(userId), credit: shop, amount, reason: 'redemption' }));
    expect(failure?.kind).toBe('invalid_argument');
    expect(failure?.code).toBe(code);
    expect(await pointsOf(userId)).toBe(10);
  });

  it('refuses transfers that carry an end user’s identity', async () => {
    const userId = await fundedMember(10);
    const caller = { userId, roles: ['resident' as const], communityId, street: '' };
    const failure = await failureOf(
      callUnary(
        clients.points,
        'createTransfer',
        { transferId: randomUUID(), debit: issuance, credit: member(userId), asset: 'POINTS', amount: 1000, reason: 'adjustment' },
        { caller, deadlineMs: 5000 },
      ),
    );
    expect(failure?.kind).toBe('permission_denied');
    expect(await pointsOf(userId)).toBe(10);
  });
});
