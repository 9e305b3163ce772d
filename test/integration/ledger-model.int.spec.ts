import { DomainError } from '@lovepoints/errors';
import { callUnary, createClients, type ServiceClients } from '@lovepoints/grpc';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { platform } from '../support/platform';

/**
 * Model-based test: random sequences of funding, spending, holds, posts, voids and reversals run
 * against the real ledger and against a tiny in-memory reference ledger; after every command
 * both must agree on the outcome and on every balance.
 */
interface Model {
  members: string[];
  available: Map<string, number>;
  held: Map<string, number>;
  holds: { id: string; userId: string; amount: number; state: 'pending' | 'posted' | 'voided' }[];
  spends: { id: string; userId: string; amount: number; reversed: boolean }[];
}

interface Real {
  clients: ServiceClients;
  communityId: string;
}

const deadline = { deadlineMs: 10_000 };
const failureCode = (error: unknown) => (error instanceof DomainError ? error.code : `unexpected: ${String(error)}`);

async function expectBalances(model: Model, real: Real): Promise<void> {
  for (const userId of model.members) {
    const caller = { userId, roles: [], communityId: real.communityId, street: '' };
    const balance = await callUnary(real.clients.points, 'getBalance', { userId }, { caller, deadlineMs: 5000 });
    expect({ userId, points: balance.points, held: balance.heldPoints }).toEqual({ userId, points: model.available.get(userId), held: model.held.get(userId) });
  }
}

const owners = (real: Real, userId: string) => ({
  member: { kind: 'member', id: userId, communityId: real.communityId },
  issuance: { kind: 'community_issuance', id: real.communityId, communityId: real.communityId },
  shop: { kind: 'shop', id: 'model-shop', communityId: real.communityId },
});

class Fund implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly member: number,
    readonly amount: number,
  ) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const userId = model.members[this.member]!;
    const { member, issuance } = owners(real, userId);
    await callUnary(
      real.clients.points,
      'createTransfer',
      { transferId: randomUUID(), debit: issuance, credit: member, asset: 'POINTS', amount: this.amount, reason: 'adjustment' },
      deadline,
    );
    model.available.set(userId, model.available.get(userId)! + this.amount);
    await expectBalances(model, real);
  }
  toString = () => `fund(${this.member}, ${this.amount})`;
}

class Spend implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly member: number,
    readonly amount: number,
  ) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const userId = model.members[this.member]!;
    const { member, shop } = owners(real, userId);
    const id = randomUUID();
    const expectOk = model.available.get(userId)! >= this.amount;
    const outcome = await callUnary(
      real.clients.points,
      'createTransfer',
      { transferId: id, debit: member, credit: shop, asset: 'POINTS', amount: this.amount, reason: 'redemption' },
      deadline,
    ).then(() => 'ok', failureCode);
    expect(outcome).toBe(expectOk ? 'ok' : 'insufficient_balance');
    if (expectOk) {
      model.available.set(userId, model.available.get(userId)! - this.amount);
      model.spends.push({ id, userId, amount: this.amount, reversed: false });
    }
    await expectBalances(model, real);
  }
  toString = () => `spend(${this.member}, ${this.amount})`;
}

class Hold implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly member: number,
    readonly amount: number,
  ) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const userId = model.members[this.member]!;
    const { member, shop } = owners(real, userId);
    const id = randomUUID();
    const expectOk = model.available.get(userId)! >= this.amount;
    const outcome = await callUnary(
      real.clients.points,
      'createHold',
      { transfer: { transferId: id, debit: member, credit: shop, asset: 'POINTS', amount: this.amount, reason: 'redemption' }, timeoutMs: 600_000 },
      deadline,
    ).then(() => 'ok', failureCode);
    expect(outcome).toBe(expectOk ? 'ok' : 'insufficient_balance');
    if (expectOk) {
      model.available.set(userId, model.available.get(userId)! - this.amount);
      model.held.set(userId, model.held.get(userId)! + this.amount);
      model.holds.push({ id, userId, amount: this.amount, state: 'pending' });
    }
    await expectBalances(model, real);
  }
  toString = () => `hold(${this.member}, ${this.amount})`;
}

class Resolve implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly pick: number,
    readonly post: boolean,
    readonly fraction: number,
  ) {}
  check = (model: Readonly<Model>) => model.holds.length > 0;
  async run(model: Model, real: Real) {
    const hold = model.holds[this.pick % model.holds.length]!;
    const postAmount = Math.max(1, Math.floor(hold.amount * this.fraction));
    const outcome = this.post
      ? await callUnary(real.clients.points, 'postHold', { transferId: hold.id, amount: postAmount }, deadline).then(() => 'ok', failureCode)
      : await callUnary(real.clients.points, 'voidHold', { transferId: hold.id }, deadline).then(() => 'ok', failureCode);
    if (hold.state === 'pending') {
      expect(outcome).toBe('ok');
      model.held.set(hold.userId, model.held.get(hold.userId)! - hold.amount);
      if (this.post) {
        model.available.set(hold.userId, model.available.get(hold.userId)! + hold.amount - postAmount);
        hold.state = 'posted';
      } else {
        model.available.set(hold.userId, model.available.get(hold.userId)! + hold.amount);
        hold.state = 'voided';
      }
    } else if (hold.state === 'voided') {
      expect(outcome).toBe(this.post ? 'hold_already_voided' : 'ok');
    } else {
      expect(['ok', 'hold_already_posted']).toContain(outcome);
    }
    await expectBalances(model, real);
  }
  toString = () => `${this.post ? `post(${this.fraction.toFixed(2)})` : 'void'}(hold ${this.pick})`;
}

class Reverse implements fc.AsyncCommand<Model, Real> {
  constructor(readonly pick: number) {}
  check = (model: Readonly<Model>) => model.spends.length > 0;
  async run(model: Model, real: Real) {
    const spend = model.spends[this.pick % model.spends.length]!;
    const outcome = await callUnary(real.clients.points, 'reverseTransfer', { transferId: spend.id, reversalId: randomUUID() }, deadline).then(
      () => 'ok',
      failureCode,
    );
    if (spend.reversed) {
      expect(outcome).toBe('already_reversed');
    } else {
      // Reversing a spend moves points from the shop back to the member; the shop always has them.
      expect(outcome).toBe('ok');
      spend.reversed = true;
      model.available.set(spend.userId, model.available.get(spend.userId)! + spend.amount);
    }
    await expectBalances(model, real);
  }
  toString = () => `reverse(spend ${this.pick})`;
}

describe('ledger against a reference model', () => {
  let clients: ServiceClients;

  beforeAll(() => {
    clients = createClients({ volunteer: '127.0.0.1:1', points: platform.TEST_POINTS_GRPC_ADDRESS, redeem: '127.0.0.1:1', timebank: '127.0.0.1:1' });
  });
  afterAll(() => Object.values(clients).forEach((client) => client.close()));

  it('agrees with the model on every random sequence', async () => {
    const member = fc.integer({ min: 0, max: 2 });
    const amount = fc.integer({ min: 1, max: 60 });
    const commands = [
      fc.tuple(member, amount).map(([index, value]) => new Fund(index, value)),
      fc.tuple(member, amount).map(([index, value]) => new Spend(index, value)),
      fc.tuple(member, amount).map(([index, value]) => new Hold(index, value)),
      fc.tuple(fc.nat(), fc.boolean(), fc.double({ min: 0.05, max: 1, noNaN: true })).map(([pick, post, fraction]) => new Resolve(pick, post, fraction)),
      fc.nat().map((pick) => new Reverse(pick)),
    ];
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 25 }), async (sequence) => {
        const communityId = `model-${randomUUID()}`;
        const members = [0, 1, 2].map(() => `model-member-${randomUUID()}`);
        const model: Model = { members, available: new Map(members.map((id) => [id, 0])), held: new Map(members.map((id) => [id, 0])), holds: [], spends: [] };
        await fc.asyncModelRun(() => ({ model, real: { clients, communityId } }), sequence);
      }),
      { numRuns: 40 },
    );
  }, 180_000);
});
