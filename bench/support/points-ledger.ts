import { callUnary, createClients, type ServiceClients } from '@lovepoints/grpc';
import type { OperationResult } from './load';

export interface Owner {
  kind: 'member' | 'shop' | 'community_issuance';
  id: string;
  communityId: string;
}

export interface TransferItem {
  transferId: string;
  debit: Owner;
  credit: Owner;
  amount: number;
}

/** Long enough that a slow answer is measured as slow rather than counted as a failure. */
const deadlineMs = 30_000;

/**
 * The points service through its gRPC contract, as another service calls it: ledger commands
 * carry no caller identity (the service refuses them from a user).
 */
export class PointsLedger {
  private readonly clients: ServiceClients;
  /** Transfers this client has seen go through: the ledger's size, as the run grows it. */
  committed = 0;

  constructor(address: string) {
    // Only the points client is used; the others connect lazily and so never do.
    this.clients = createClients({ volunteer: '127.0.0.1:1', points: address, redeem: '127.0.0.1:1', timebank: '127.0.0.1:1' });
  }

  private request(item: TransferItem) {
    return { ...item, asset: 'POINTS', reason: item.debit.kind === 'community_issuance' ? 'adjustment' : 'redemption', reference: 'bench' };
  }

  async openAccount(owner: Owner): Promise<void> {
    await callUnary(this.clients.points, 'openAccount', { owner, asset: 'POINTS' }, { deadlineMs });
  }

  /** One transfer; a refusal (such as insufficient_balance) comes back as a thrown DomainError. */
  async transfer(item: TransferItem): Promise<OperationResult> {
    await callUnary(this.clients.points, 'createTransfer', this.request(item), { deadlineMs });
    this.committed += 1;
    return { succeeded: 1, refused: [] };
  }

  /** A batch; items succeed or are refused one by one. */
  async transfers(items: TransferItem[]): Promise<OperationResult> {
    const response = await callUnary(this.clients.points, 'createTransfers', { transfers: items.map((item) => this.request(item)) }, { deadlineMs });
    const refused = response.results.filter((result) => result.result !== 'ok').map((result) => result.result);
    this.committed += response.results.length - refused.length;
    return { succeeded: response.results.length - refused.length, refused };
  }

  async verifyLedger() {
    // Verification replays every transfer, which takes a while after a benchmark's worth of them.
    return callUnary(this.clients.points, 'verifyLedger', {}, { deadlineMs: 300_000 });
  }

  async availableOf(owner: Owner): Promise<number> {
    // OpenAccount answers the existing account with its balances, so it doubles as a read.
    const account = await callUnary(this.clients.points, 'openAccount', { owner, asset: 'POINTS' }, { deadlineMs });
    return account.available;
  }

  close(): void {
    for (const client of Object.values(this.clients)) client.close();
  }
}
