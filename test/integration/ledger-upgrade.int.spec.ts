import { callUnary, createClients } from '@lovepoints/grpc';
import { randomUUID } from 'node:crypto';
import { PointsProcess } from '../support/points-process';
import { connectSpecDatabase } from '../support/mongo';
import { specPort } from '../support/ports';

/**
 * A ledger written by an earlier version, which kept phase markers in an `inflight` list on the
 * account, stopped in the middle of a transfer: the debit was applied (its marker in the list),
 * the credit was not. The current version must move the marker over before recovery repeats the
 * phase, so the debit is not applied twice.
 */
describe('ledger upgrade from markers kept in a list', () => {
  const databaseName = `lovepoints_upgrade_${randomUUID().slice(0, 8)}`;
  const points = new PointsProcess(specPort(21163), databaseName, { LEDGER_LEASE_MS: '300', LEDGER_RECOVERY_INTERVAL_MS: '500' });
  const clients = createClients({ volunteer: '127.0.0.1:1', points: points.address, redeem: '127.0.0.1:1', timebank: '127.0.0.1:1' });
  const communityId = 'upgrade-community';
  const issuance = { kind: 'community_issuance', id: communityId, communityId };
  const member = { kind: 'member', id: 'upgrade-member', communityId };
  const shop = { kind: 'shop', id: 'upgrade-shop', communityId };
  const options = { deadlineMs: 5000 };

  afterAll(async () => {
    await points.stop();
    Object.values(clients).forEach((client) => client.close());
  });

  it('finishes a half-applied transfer once, whatever list its marker was in', async () => {
    await points.start();
    const funding = await callUnary(
      clients.points,
      'createTransfer',
      { transferId: 'upgrade-funding', debit: issuance, credit: member, asset: 'POINTS', amount: 50, reason: 'adjustment' },
      options,
    );
    await callUnary(clients.points, 'openAccount', { owner: shop, asset: 'POINTS' }, options);
    await points.stop();

    const connection = await connectSpecDatabase(databaseName);
    try {
      const transfers = connection.collection('transfers');
      const accounts = connection.collection<{ _id: string }>('accounts');
      const recorded = await transfers.findOne({ _id: funding.id as never });
      expect(recorded).not.toBeNull();
      // The earlier version's state: member → shop 20, debit applied with its marker, credit not.
      await transfers.insertOne({
        ...recorded!,
        _id: 'upgrade-spend' as never,
        debitAccountId: 'member:upgrade-member:POINTS',
        creditAccountId: 'shop:upgrade-shop:POINTS',
        amount: 20,
        reason: 'redemption',
        earnerUserId: '',
        earnedPoints: 0,
        state: 'applying',
        fingerprint: 'from an earlier version',
        leaseUntil: new Date(Date.now() - 60_000),
        postedAt: null,
        outbox: [],
      });
      await accounts.updateOne(
        { _id: 'member:upgrade-member:POINTS' },
        { $inc: { debitsPosted: 20, available: -20 }, $set: { inflight: ['upgrade-spend#apply'] } },
      );
      await accounts.updateMany({ _id: { $ne: 'member:upgrade-member:POINTS' } }, { $set: { inflight: [] } });

      await points.start();
      const transfer = await callUnary(clients.points, 'getTransfer', { transferId: 'upgrade-spend' }, options);
      expect(transfer.state).toBe('posted');
      const report = await callUnary(clients.points, 'verifyLedger', {}, options);
      expect(report.differences).toEqual([]);
      expect(report.transfersInFlight).toBe(0);
      for (const sum of report.sums) expect(sum.postedSum).toBe(0);
      const balance = await callUnary(clients.points, 'openAccount', { owner: member, asset: 'POINTS' }, options);
      expect(balance.available).toBe(30);
      expect(await accounts.countDocuments({ inflight: { $exists: true } })).toBe(0);
    } finally {
      await connection.close();
    }
  });
});
