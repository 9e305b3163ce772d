import { DomainError } from '@lovepoints/errors';
import { callUnary, createClients } from '@lovepoints/grpc';
import { randomInt, randomUUID } from 'node:crypto';
import { eventually } from '../support/api';
import { recordTopic, testKafka } from '../support/kafka';
import { PointsProcess } from '../support/points-process';
import { connectSpecDatabase } from '../support/mongo';
import { specPort } from '../support/ports';

/**
 * Crash loop: the points process is killed with SIGKILL at random moments while transfers and
 * holds are in flight. Every operation is retried with its own id until it gets a definite
 * answer, as a real caller would. Afterwards the ledger must be whole: balances equal the model
 * built from those answers, equal the replay of the transfers, and each asset sums to zero.
 * Its events are whole too: every transfer's events reach Kafka, and none reports a change that
 * did not happen.
 */
describe('ledger survives kill -9 at any moment', () => {
  const databaseName = `lovepoints_crash_${randomUUID().slice(0, 8)}`;
  const points = new PointsProcess(specPort(21161), databaseName, {
    LEDGER_LEASE_MS: '300',
    LEDGER_RECOVERY_INTERVAL_MS: '500',
    LEDGER_MARKER_SWEEP_INTERVAL_MS: '1000',
    // Events a killed process left unpublished are found by the relay's search.
    POINTS_OUTBOX_SCAN_INTERVAL_MS: '1000',
  });
  const kafka = testKafka();
  const run = randomUUID().slice(0, 8);
  const clients = createClients({ volunteer: '127.0.0.1:1', points: points.address, redeem: '127.0.0.1:1', timebank: '127.0.0.1:1' });
  const communityId = 'crash-community';
  const issuance = { kind: 'community_issuance', id: communityId, communityId };
  const shop = { kind: 'shop', id: 'crash-shop', communityId };
  const members = Array.from({ length: 5 }, (_, index) => `crash-member-${index}`);
  const member = (id: string) => ({ kind: 'member', id, communityId });

  afterAll(async () => {
    await points.stop();
    await kafka.disconnect();
    Object.values(clients).forEach((client) => client.close());
  });

  /** Calls until the answer is definite: a result, or a refusal other than "unavailable". */
  async function definitely<Result>(call: () => Promise<Result>): Promise<Result | DomainError> {
    for (;;) {
      try {
        return await call();
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        if (error.kind !== 'unavailable' && error.kind !== 'internal') return error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  it('keeps every balance and every event right through repeated crashes', async () => {
    const recorder = await recordTopic(kafka, ['points.transfer.v1']);
    await points.start();
    const options = { deadlineMs: 3000 };
    const expected = new Map(members.map((id) => [id, 0]));
    const transferIds: string[] = [];
    const holdIds = new Set<string>();
    let operations = 0;
    let running = true;
    let kills = 0;

    const worker = async (workerIndex: number) => {
      // At least 30 steps each, and on until the process has been killed 3 times: a fast ledger
      // could otherwise finish every operation between two kills.
      for (let step = 0; step < 30 || (kills < 3 && step < 1000); step += 1) {
        const userId = members[(workerIndex + step) % members.length]!;
        const transferId = `${run}-w${workerIndex}-s${step}`;
        const choice = randomInt(3);
        if (choice === 0) {
          const amount = randomInt(1, 31);
          const result = await definitely(() =>
            callUnary(
              clients.points,
              'createTransfer',
              { transferId, debit: issuance, credit: member(userId), asset: 'POINTS', amount, reason: 'adjustment' },
              options,
            ),
          );
          if (!(result instanceof DomainError)) expected.set(userId, expected.get(userId)! + amount);
          else throw new Error(`funding refused: ${result.code}`);
        } else if (choice === 1) {
          const amount = randomInt(1, 21);
          const result = await definitely(() =>
            callUnary(
              clients.points,
              'createTransfer',
              { transferId, debit: member(userId), credit: shop, asset: 'POINTS', amount, reason: 'redemption' },
              options,
            ),
          );
          if (!(result instanceof DomainError)) expected.set(userId, expected.get(userId)! - amount);
          else expect(result.code).toBe('insufficient_balance');
        } else {
          const amount = randomInt(1, 21);
          holdIds.add(transferId);
          const held = await definitely(() =>
            callUnary(
              clients.points,
              'createHold',
              { transfer: { transferId, debit: member(userId), credit: shop, asset: 'POINTS', amount, reason: 'redemption' }, timeoutMs: 60_000 },
              options,
            ),
          );
          if (held instanceof DomainError) {
            expect(held.code).toBe('insufficient_balance');
          } else if (randomInt(2) === 0) {
            const postAmount = randomInt(1, amount + 1);
            const posted = await definitely(() => callUnary(clients.points, 'postHold', { transferId, amount: postAmount }, options));
            if (posted instanceof DomainError) throw new Error(`post refused: ${posted.code}`);
            expected.set(userId, expected.get(userId)! - postAmount);
          } else {
            const voided = await definitely(() => callUnary(clients.points, 'voidHold', { transferId }, options));
            if (voided instanceof DomainError) throw new Error(`void refused: ${voided.code}`);
          }
        }
        transferIds.push(transferId);
        operations += 1;
      }
    };

    const killer = async () => {
      while (running) {
        await new Promise((resolve) => setTimeout(resolve, randomInt(300, 900)));
        if (!running) break;
        await points.kill();
        kills += 1;
        await points.start();
      }
    };

    const killing = killer();
    await Promise.all(Array.from({ length: 6 }, (_, index) => worker(index)));
    running = false;
    await killing;

    expect(operations).toBeGreaterThanOrEqual(100);
    expect(kills).toBeGreaterThanOrEqual(3);

    // Recovery (at start and every 500 ms) completes whatever the last kill interrupted.
    const report = await eventually(async () => {
      const result = await callUnary(clients.points, 'verifyLedger', {}, options);
      return result.transfersInFlight === 0 ? result : undefined;
    }, 30_000);
    expect(report.differences).toEqual([]);
    for (const sum of report.sums) expect(sum.postedSum).toBe(0);

    for (const userId of members) {
      const caller = { userId, roles: [], communityId, street: '' };
      const balance = await callUnary(clients.points, 'getBalance', { userId }, { caller, deadlineMs: 3000 });
      expect({ userId, points: balance.points, held: balance.heldPoints }).toEqual({ userId, points: expected.get(userId), held: 0 });
    }

    // Nothing is doubled: every id names one transfer in a final state.
    const states = new Map<string, string>();
    for (const transferId of transferIds) {
      const transfer = await callUnary(clients.points, 'getTransfer', { transferId }, options);
      expect(['posted', 'voided', 'rejected']).toContain(transfer.state);
      states.set(transferId, transfer.state);
    }

    // Events: exactly the ones the final states call for, each at least once (delivery is at
    // least once; consumers dedupe by id), and no other: a refused transfer announces nothing.
    const expectedEvents = new Set<string>();
    for (const [transferId, state] of states) {
      if (state === 'rejected') continue;
      if (holdIds.has(transferId)) expectedEvents.add(`${transferId}#held`);
      expectedEvents.add(`${transferId}#${state}`);
    }
    const seenEvents = () =>
      new Set(
        recorder.messages
          .map((message) => JSON.parse(message.value!.toString()) as { id: string; subject: string })
          .filter((event) => event.subject.startsWith(`${run}-`))
          .map((event) => event.id),
      );
    const seen = await eventually(async () => {
      const events = seenEvents();
      return [...expectedEvents].every((id) => events.has(id)) ? events : undefined;
    }, 60_000).catch(() => seenEvents());
    await recorder.stop();
    expect([...expectedEvents].filter((id) => !seen.has(id))).toEqual([]);
    expect([...seen].filter((id) => !expectedEvents.has(id))).toEqual([]);

    // The phase markers the kills left on accounts are all removed in the end.
    const connection = await connectSpecDatabase(databaseName);
    try {
      const accountsWithMarkers = () =>
        connection
          .collection('accounts')
          .find({ markers: { $exists: true, $ne: {} } }, { projection: { markers: 1 } })
          .toArray();
      await eventually(async () => ((await accountsWithMarkers()).length === 0 ? true : undefined), 20_000).catch(() => undefined);
      expect(await accountsWithMarkers()).toEqual([]);
    } finally {
      await connection.close();
    }
  }, 300_000);
});
