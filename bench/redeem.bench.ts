import { type Caller, callUnary, createClients, type ServiceClients } from '@lovepoints/grpc';
import { createLogger } from '@lovepoints/logging';
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { startPlatform } from '../deploy/local/platform';
import { type LoadResult, runClosedLoop } from './support/load';
import { describeMachine, formatNumber, markdownTable, writeOwnedSection } from './support/report';

/**
 * `npm run bench:redeem`: redemption orders at concurrency 32 against the redeem service's gRPC
 * port (not through the gateway, so JWT checks and HTTP are not in the figures), with the real
 * points ledger behind it, on a platform of its own: Kafka, mongo-java-server in memory and the
 * five services, on ports of its own below the kernel's ephemeral range (32768–60999), apart
 * from the tests', `npm start`'s and the other benchmarks'. Writes its section of docs/benchmarks.md.
 */
const concurrency = 32;
const ports = { volunteer: 28451, points: 28452, redeem: 28453, timebank: 28454, gateway: 28480 };
const infrastructurePorts = { kafkaPort: 29392, kafkaControllerPort: 29393, mongoPort: 27417 };
const communityId = 'bench-community';
const memberCount = 320;
const itemCount = 50;
const documentFile = path.resolve(__dirname, '..', 'docs', 'benchmarks.md');
const say = (line: string) => process.stdout.write(`${line}\n`);

interface Fixture {
  clients: ServiceClients;
  members: Caller[];
  keeper: Caller;
  shopId: string;
  itemIds: string[];
}

const deadline = { deadlineMs: 30_000 };

async function seed(clients: ServiceClients): Promise<Fixture> {
  const organizer: Caller = { userId: 'bench-organizer', roles: ['organizer'], communityId, street: 'bench' };
  const keeper: Caller = { userId: 'bench-keeper', roles: ['shopkeeper'], communityId, street: 'bench' };
  const shop = await callUnary(clients.redeem, 'createShop', { name: 'bench shop', ownerUserId: keeper.userId }, { caller: organizer, deadlineMs: 30_000 });
  const itemIds: string[] = [];
  for (let index = 0; index < itemCount; index += 1) {
    const item = await callUnary(
      clients.redeem,
      'createItem',
      {
        shopId: shop.id,
        name: `item ${index}`,
        description: '',
        imageUrl: '',
        pricePoints: 5,
        stock: 1_000_000,
        perPersonLimit: 0,
        limitPeriod: '',
        activeFrom: '',
        activeUntil: '',
      },
      { caller: keeper, deadlineMs: 30_000 },
    );
    itemIds.push(item.id);
  }
  const members = Array.from({ length: memberCount }, (_, index): Caller => ({
    userId: `bench-member-${index}`,
    roles: ['resident'],
    communityId,
    street: 'bench',
  }));
  const { results } = await callUnary(
    clients.points,
    'createTransfers',
    {
      transfers: members.map((member) => ({
        transferId: `bench-funding-${member.userId}`,
        debit: { kind: 'community_issuance', id: communityId, communityId },
        credit: { kind: 'member', id: member.userId, communityId },
        asset: 'POINTS',
        amount: 10_000_000,
        reason: 'adjustment',
        reference: 'bench',
      })),
    },
    deadline,
  );
  const refused = results.filter((result) => result.result !== 'ok');
  if (refused.length > 0) throw new Error(`funding refused: ${refused[0]?.result}`);
  return { clients, members, keeper, shopId: shop.id, itemIds };
}

function scenarios(fixture: Fixture) {
  let next = 0;
  const pick = <Value>(values: Value[]) => values[next++ % values.length]!;
  const place = (caller: Caller) =>
    callUnary(fixture.clients.redeem, 'createRedemption', { itemId: pick(fixture.itemIds), quantity: 1, idempotencyKey: '' }, { caller, deadlineMs: 30_000 });
  return {
    /** An order: stock reserved, points held, pickup code issued. */
    place: async () => {
      await place(pick(fixture.members));
      return { succeeded: 1, refused: [] };
    },
    /** The whole purchase: the order, then the shopkeeper's pickup (hold posted to the shop). */
    purchase: async () => {
      const order = await place(pick(fixture.members));
      await callUnary(
        fixture.clients.redeem,
        'confirmPickup',
        { shopId: fixture.shopId, pickupCode: order.pickupCode, idempotencyKey: '' },
        { caller: fixture.keeper, deadlineMs: 30_000 },
      );
      return { succeeded: 1, refused: [] };
    },
  };
}

function row(name: string, result: LoadResult): string[] {
  const failures = Object.entries(result.failures).map(([code, count]) => `${code}: ${count}`);
  return [
    name,
    String(result.transfers),
    formatNumber(result.transfersPerSecond),
    formatNumber(result.latency.p50Ms),
    formatNumber(result.latency.p99Ms),
    formatNumber(result.latency.maxMs),
    failures.length === 0 ? 'none' : failures.join(', '),
  ];
}

async function main(): Promise<void> {
  const logger = createLogger('bench-redeem', 'warn');
  const logDirectory = mkdtempSync(path.join(tmpdir(), 'lovepoints-bench-redeem-'));
  say(`starting the platform (service logs in ${logDirectory})`);
  const platform = await startPlatform({
    logger,
    persistent: false,
    ports,
    infrastructure: infrastructurePorts,
    logDirectory,
    environment: {
      LOG_LEVEL: 'warn',
      VOLUNTEER_MONGO_DB: 'lovepoints_bench_volunteer',
      POINTS_MONGO_DB: 'lovepoints_bench_points',
      REDEEM_MONGO_DB: 'lovepoints_bench_redeem',
      TIMEBANK_MONGO_DB: 'lovepoints_bench_timebank',
      // Gaps in the measurement would come from an order expiry sweep, not from orders.
      REDEEM_RECOVERY_INTERVAL_MS: '600000',
    },
  });
  process.once('SIGINT', () => void platform.stop().finally(() => process.exit(130)));
  const clients = createClients({
    volunteer: `127.0.0.1:${ports.volunteer}`,
    points: `127.0.0.1:${ports.points}`,
    redeem: `127.0.0.1:${ports.redeem}`,
    timebank: `127.0.0.1:${ports.timebank}`,
  });
  try {
    const fixture = await seed(clients);
    const { place, purchase } = scenarios(fixture);
    const options = { concurrency, warmupOperations: 100, operations: 3000, timeLimitMs: 60_000 };
    say(`orders (place only) at concurrency ${concurrency}…`);
    const placed = await runClosedLoop(place, options);
    say(`  ${formatNumber(placed.transfersPerSecond)} orders/s, p99 ${formatNumber(placed.latency.p99Ms)} ms`);
    say(`purchases (order + pickup) at concurrency ${concurrency}…`);
    const purchased = await runClosedLoop(purchase, options);
    say(`  ${formatNumber(purchased.transfersPerSecond)} purchases/s, p99 ${formatNumber(purchased.latency.p99Ms)} ms`);

    const verified = await callUnary(clients.points, 'verifyLedger', {}, { deadlineMs: 300_000 });
    const shopAccount = await callUnary(clients.points, 'openAccount', { owner: { kind: 'shop', id: fixture.shopId, communityId }, asset: 'POINTS' }, deadline);
    const items = await callUnary(clients.redeem, 'listItems', { shopId: fixture.shopId }, { caller: fixture.keeper, deadlineMs: 30_000 });
    const unitsTaken = items.items.reduce((total, item) => total + (1_000_000 - item.stock), 0);
    const ordersMade = 100 + placed.operations + 100 + purchased.operations;
    // Other work on the machine shows in the figures; the load average says how much there was.
    const [load1 = 0, load5 = 0] = loadavg();
    const checks = [
      `machine load average while measuring: ${formatNumber(load1)} (1 min), ${formatNumber(load5)} (5 min), on ${describeMachine().processors} cores`,
      `VerifyLedger: ${verified.differences.length} differences over ${verified.accountsChecked} accounts and ${verified.transfersChecked} transfers`,
      `units taken from stock ${unitsTaken} = orders made ${ordersMade} (warm-up included): ${unitsTaken === ordersMade ? 'yes' : 'NO'}`,
      `shop's posted balance ${shopAccount.balancePosted} points, held for it ${shopAccount.creditsPending} points`,
    ];
    checks.forEach((line) => say(line));
    const machine = describeMachine();
    const body = [
      '## Redemption orders (`npm run bench:redeem`)',
      '',
      `Command: \`npm run bench:redeem\` · ${new Date().toISOString().slice(0, 10)} · commit ${machine.commit} · ${machine.cpuModel}, ${machine.processors} cores, ${formatNumber(machine.totalMemoryGb)} GB, Node ${machine.nodeVersion}`,
      '',
      `Closed loop, ${concurrency} callers, against the redeem service's gRPC port (not through the gateway), with the points ledger, Kafka and mongo-java-server (in memory) of a platform started for the run. ${memberCount} residents, ${itemCount} items of one shop, one unit per order. An order is: the order document, the conditional stock decrement, the ledger hold (about four MongoDB round trips in the points service) and the move to pending_pickup with its event; a purchase adds the shopkeeper's pickup (claim, PostHold, stock mark, fulfilled with its event).`,
      '',
      markdownTable(
        ['scenario', 'completed', 'per second', 'p50 ms', 'p99 ms', 'max ms', 'failures'],
        [row('order (place)', placed), row('purchase (order + pickup)', purchased)],
      ),
      '',
      ...checks.map((line) => `- ${line}`),
    ].join('\n');
    writeOwnedSection(documentFile, 'redeem', body);
    say(`written to ${path.relative(process.cwd(), documentFile)}`);
  } finally {
    Object.values(clients).forEach((client) => client.close());
    await platform.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
