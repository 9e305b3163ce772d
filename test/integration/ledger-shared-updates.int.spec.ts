import { createLogger } from '@lovepoints/logging';
import type { Connection } from '@lovepoints/mongo';
import { randomUUID } from 'node:crypto';
import { type AccountOwner, accountId, type TransferCommand } from '../../services/points/src/domain/ledger-rules';
import { LedgerRepository } from '../../services/points/src/store/ledger.repository';
import { connectSpecDatabase } from '../support/mongo';

/**
 * Changes to one account that arrive in the same batch share one update (a busy shop's credits,
 * an issuance account's debits). The ledger's storage directly, on the MongoDB-protocol server:
 * only here can transfers be made to land in one batch for certain.
 */
describe('ledger: account updates shared within a batch', () => {
  let connection: Connection;
  let ledger: LedgerRepository;
  const communityId = 'shared-community';
  const issuance = { kind: 'community_issuance' as const, id: communityId, communityId };
  const shop = { kind: 'shop' as const, id: 'shared-shop', communityId };
  const member = { kind: 'member' as const, id: 'shared-member', communityId };
  const shopAccount = accountId(shop, 'POINTS');
  const issuanceAccount = accountId(issuance, 'POINTS');
  const command = (transferId: string, amount: number, debit: AccountOwner = issuance): TransferCommand => ({
    transferId,
    debit,
    credit: shop,
    asset: 'POINTS',
    amount,
    reason: 'adjustment',
    reference: 'shared-updates spec',
  });
  const account = async (id: string) => (await ledger.findAccount(id))!;

  beforeAll(async () => {
    connection = await connectSpecDatabase(`lovepoints_shared_${randomUUID().slice(0, 8)}`);
    ledger = new LedgerRepository(connection, createLogger('spec', 'error'), { releaseDelayMs: 20 });
    await ledger.init();
    await Promise.all([ledger.openAccount(issuance, 'POINTS'), ledger.openAccount(shop, 'POINTS'), ledger.openAccount(member, 'POINTS')]);
  });
  afterAll(async () => {
    await ledger.stop();
    await connection.close();
  });

  it('adds concurrent credits to one account up exactly, beside a checked spend from a member', async () => {
    await ledger.transfer({ ...command('shared-funding', 50), credit: member });
    const before = await account(shopAccount);
    const outcome = (transfer: Promise<{ state: string }>) => transfer.then((result) => result.state).catch((error: { code?: string }) => error.code);
    const results = await Promise.all([
      ...[1, 2, 3, 4, 5, 6].map((amount) => outcome(ledger.transfer(command(`shared-credit-${amount}`, amount)))),
      // Two checked spends of 30 from 50: exactly one goes through, whichever it is.
      outcome(ledger.transfer(command('shared-spend-a', 30, member))),
      outcome(ledger.transfer(command('shared-spend-b', 30, member))),
    ]);
    expect(results.slice(0, 6)).toEqual(Array(6).fill('posted'));
    expect(results.slice(6).sort()).toEqual(['insufficient_balance', 'posted']);
    const after = await account(shopAccount);
    expect(after.creditsPosted - before.creditsPosted).toBe(21 + 30);
    expect(after.available - before.available).toBe(21 + 30);
    expect((await account(accountId(member, 'POINTS'))).available).toBe(20);
  });

  it('applies a change that an earlier run already applied once, and the others in its update', async () => {
    // A phase repeated after a crash: its account updates go out in parallel, so a crash can
    // leave the credit applied (with its marker) and the debit not.
    await connection
      .collection<{ _id: string }>('accounts')
      .updateOne({ _id: shopAccount }, { $inc: { creditsPosted: 7, available: 7 }, $set: { 'markers.shared-repeat#apply': true } });
    const [shopBefore, issuanceBefore] = [await account(shopAccount), await account(issuanceAccount)];
    // The repeated one in the middle, so that it is not simply the first write of the shared update.
    const results = await Promise.all([
      ledger.transfer(command('shared-new-a', 5)),
      ledger.transfer(command('shared-repeat', 7)),
      ledger.transfer(command('shared-new-b', 3)),
    ]);
    expect(results.map((result) => result.state)).toEqual(['posted', 'posted', 'posted']);
    const [shopAfter, issuanceAfter] = [await account(shopAccount), await account(issuanceAccount)];
    // The repeated credit is not applied again; the debit it lacked and the new transfers are, once.
    expect(shopAfter.creditsPosted - shopBefore.creditsPosted).toBe(5 + 3);
    expect(issuanceAfter.debitsPosted - issuanceBefore.debitsPosted).toBe(7 + 5 + 3);
    // The markers go once the transfers have finished.
    for (let attempt = 0; attempt < 50; attempt += 1) {
      const markers = [(await account(shopAccount)).markers ?? {}, (await account(issuanceAccount)).markers ?? {}];
      if (markers.every((held) => Object.keys(held).length === 0)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await account(shopAccount)).markers ?? {}).toEqual({});
    expect((await account(issuanceAccount)).markers ?? {}).toEqual({});
  });
});
