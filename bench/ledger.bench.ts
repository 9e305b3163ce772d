import { createLogger } from '@lovepoints/logging';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Infrastructure, infrastructureOptionsFromEnv, startInfrastructure } from '../deploy/local/infra';
import { serviceNodeOptions } from '../deploy/local/services';
import {
  type OverdraftProbe,
  renderReport,
  resultLine,
  type FixedLoadRow,
  type Results,
  settleTimeLimitSeconds,
  type Stretch,
  targetLines,
  targets,
  type VerifyResult,
} from './ledger-report';
import { failureCode, type Operation, type OperationResult, runClosedLoop, runOpenLoop } from './support/load';
import { startWriterFloor } from './support/floor';
import { MediciLedger } from './support/medici-ledger';
import { type Owner, PointsLedger, type TransferItem } from './support/points-ledger';
import { PointsProcess, recordedPid, RssSampler, settle, startCpuWatch, type WatchedProcesses } from './support/processes';
import { formatNumber, writeOwnedSection } from './support/report';
import { benchScale } from './support/scale';

/**
 * `npm run bench:ledger`: the points ledger under load, next to medici on the same MongoDB
 * server, written to docs/benchmarks.md. Starts its own Kafka and mongo-java-server (in memory,
 * on ports apart from the tests' and `npm start`'s) and only the points service.
 */

// Ports of the benchmark's own, below the kernel's ephemeral range (32768–60999) like the others:
// tests use 19092/19093/17017 and 21152, `npm start` 9092/9093/27017 and 50052.
const ports = { kafka: 29292, kafkaController: 29293, mongo: 27317, pointsGrpc: 28352, floorGrpc: 28353 };
const databases = { points: 'lovepoints_bench_points', medici: 'lovepoints_bench_medici', floor: 'lovepoints_bench_floor' };
const concurrencies = [1, 16, 64];
/** NODE_OPTIONS of the points process: as deploy/ starts it (BENCH_POINTS_NODE_OPTIONS overrides, to compare). */
const pointsNodeOptions = process.env.BENCH_POINTS_NODE_OPTIONS ?? serviceNodeOptions.points.join(' ');
const batchRuns = [
  { batchSize: 100, concurrency: 1 },
  { batchSize: 100, concurrency: 16 },
  { batchSize: 100, concurrency: 64 },
  { batchSize: 1000, concurrency: 1 },
  { batchSize: 1000, concurrency: 4 },
];
const memberCount = 1000;
/** Load before the first measurement, unmeasured, until the JVMs have compiled their hot paths. */
const warmupSeconds = 20;
const shopCount = 50;
/** Enough that no spread or hot spend in the run can be short, so refusals would be bugs. */
const memberFunding = 1_000_000;
const hotMemberFunding = 100_000_000;
const documentFile = path.resolve(__dirname, '..', 'docs', 'benchmarks.md');

/** A small seeded generator (mulberry32), so every run draws the same accounts and amounts. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
}

async function forEachConcurrently<Item>(items: Item[], concurrency: number, action: (item: Item) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < items.length; index = next++) await action(items[index]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

const say = (line: string) => process.stdout.write(`${line}\n`);

/** What every measurement needs: what to draw, what to watch, and how big to make it. */
interface Context {
  workload: Workload;
  watched: WatchedProcesses;
  sampler: RssSampler;
  scale: number;
  results: Results;
  /** transfers/s of the latest closed-loop measurement that got any through: what the service does now. */
  latestRate: number;
}

/** Idle means below this share of one core: the relay's polling and recovery's timer stay under it. */
const idlePercent = 10;
const settleTimeLimitMs = settleTimeLimitSeconds * 1000;
/**
 * A batch configuration whose first round would take longer than this at the rate measured so
 * far is skipped: its calls would run into their deadline and the leftover work into the next
 * measurement, and the run would take many minutes to say what the rate already says.
 */
const batchRoundLimitMs = 15_000;

/** Runs one measurement once the points process is idle, watching CPU and memory meanwhile. */
async function measured<Value>(context: Context, ledgerSize: () => number, run: () => Promise<Value>): Promise<[Value, Stretch]> {
  const settledInMs = await settle(context.watched.points, idlePercent, settleTimeLimitMs);
  if (settledInMs === undefined) say(`  (the points service was still busy after ${settleTimeLimitMs / 1000} s; measuring anyway)`);
  const ledgerSizeBefore = ledgerSize();
  context.sampler.startWindow();
  const stopWatch = startCpuWatch(context.watched);
  const value = await run();
  const cpu = stopWatch();
  context.sampler.sample();
  return [value, { cpu, rssPeakBytes: context.sampler.windowPeakBytes, settledInMs, ledgerSizeBefore }];
}

/** The accounts and transfers the workloads draw from, the same for both ledgers. */
class Workload {
  private sequence = 0;
  private readonly random = seededRandom(20_260_101);
  readonly communityId: string;
  readonly issuance: Owner;
  readonly members: Owner[];
  readonly shops: Owner[];
  readonly hotMember: Owner;

  constructor(private readonly runId: string) {
    this.communityId = `bench-${runId}`;
    const owner = (kind: Owner['kind'], id: string): Owner => ({ kind, id, communityId: this.communityId });
    this.issuance = owner('community_issuance', this.communityId);
    this.members = Array.from({ length: memberCount }, (_, index) => owner('member', `member-${index}`));
    this.shops = Array.from({ length: shopCount }, (_, index) => owner('shop', `shop-${index}`));
    this.hotMember = owner('member', 'member-hot');
  }

  private pick<Item>(items: Item[]): Item {
    return items[Math.floor(this.random() * items.length)]!;
  }

  nextId(label: string): string {
    this.sequence += 1;
    return `${this.runId}-${label}-${this.sequence}`;
  }

  /** A member pays a shop 1..5 points. */
  spend(accounts: 'spread' | 'hot'): TransferItem {
    const debit = accounts === 'hot' ? this.hotMember : this.pick(this.members);
    return { transferId: this.nextId(accounts), debit, credit: this.pick(this.shops), amount: 1 + Math.floor(this.random() * 5) };
  }

  funding(member: Owner, amount: number): TransferItem {
    return { transferId: this.nextId('fund'), debit: this.issuance, credit: member, amount };
  }
}

/** Many spends of a small balance at once: how many a ledger lets through. */
async function overdraftProbe(
  fund: (amount: number) => Promise<void>,
  spend: () => Promise<OperationResult>,
  balance: () => Promise<number>,
): Promise<OverdraftProbe> {
  const funded = 100;
  const amount = 7;
  const attempts = 64;
  await fund(funded);
  const refusals: Record<string, number> = {};
  let succeeded = 0;
  await Promise.all(
    Array.from({ length: attempts }, async () => {
      try {
        const result = await spend();
        succeeded += result.succeeded;
        for (const code of result.refused) refusals[code] = (refusals[code] ?? 0) + 1;
      } catch (error) {
        const code = failureCode(error);
        refusals[code] = (refusals[code] ?? 0) + 1;
      }
    }),
  );
  return { funded, amount, attempts, succeeded, refusals, finalBalance: await balance() };
}

async function measureSingle(points: PointsLedger, context: Context, accounts: 'spread' | 'hot', concurrency: number, repeat: boolean): Promise<void> {
  const { workload, scale } = context;
  const [result, stretch] = await measured(
    context,
    () => points.committed,
    () =>
      runClosedLoop(() => points.transfer(workload.spend(accounts)), {
        concurrency,
        warmupOperations: Math.max(2 * concurrency, Math.round(200 * scale)),
        operations: Math.round(3000 * scale),
        timeLimitMs: 6000 * scale,
      }),
  );
  context.results.single.push({ accounts, concurrency, repeat, result, stretch });
  if (result.transfers > 0) context.latestRate = result.transfersPerSecond;
  say(resultLine(`single, ${accounts}, concurrency ${concurrency}${repeat ? ' (again)' : ''}`, result));
}

async function measureFixedLoad(
  points: PointsLedger,
  context: Context,
  ratePerSecond: number,
  durationMs: number,
  purpose: string,
  into: FixedLoadRow[] = context.results.fixedLoads,
): Promise<void> {
  const [result, stretch] = await measured(
    context,
    () => points.committed,
    () =>
      runOpenLoop(() => points.transfer(context.workload.spend('spread')), {
        ratePerSecond,
        durationMs: Math.max(2000, durationMs * context.scale),
        drainTimeLimitMs: 15_000,
        inFlightLimit: Math.ceil(ratePerSecond / 2),
      }),
  );
  into.push({ purpose, result, stretch });
  say(
    `${resultLine(`fixed load ${ratePerSecond}/s${into === context.results.fixedLoads ? '' : ' (floor)'}`, result)}, at most ${result.maxInFlight} in flight` +
      (result.stoppedEarlyAfterMs === undefined ? '' : `, sending stopped after ${formatNumber(result.stoppedEarlyAfterMs / 1000)} s`),
  );
}

async function measurePoints(points: PointsLedger, context: Context, isAlive: () => void): Promise<void> {
  const { workload, scale, results } = context;
  say(`funding ${memberCount} members, opening ${shopCount} shops`);
  await forEachConcurrently(workload.shops, 16, (shop) => points.openAccount(shop));
  await forEachConcurrently([...workload.members, workload.hotMember], 32, async (member) => {
    await points.transfer(workload.funding(member, member === workload.hotMember ? hotMemberFunding : memberFunding));
  });

  // mongo-java-server and Kafka are JVMs: their compilers take tens of seconds of load to reach
  // full speed, which would otherwise be billed to whichever measurement comes first.
  const warmup = await runClosedLoop(() => points.transfer(workload.spend('spread')), {
    concurrency: 16,
    warmupOperations: 0,
    operations: Number.MAX_SAFE_INTEGER,
    timeLimitMs: warmupSeconds * 1000 * scale,
  });
  say(`warm-up (not measured): ${warmup.operations} spends in ${formatNumber(warmup.elapsedMs / 1000)} s`);

  for (const accounts of ['spread', 'hot'] as const) {
    for (const concurrency of concurrencies) {
      isAlive();
      await measureSingle(points, context, accounts, concurrency, false);
    }
  }

  for (const { batchSize, concurrency } of batchRuns) {
    isAlive();
    const estimatedRoundMs = ((batchSize * concurrency) / context.latestRate) * 1000;
    if (estimatedRoundMs > batchRoundLimitMs) {
      const skipped =
        `one round (${batchSize * concurrency} transfers) would take ~${formatNumber(estimatedRoundMs / 1000)} s ` +
        `at the latest rate measured (${formatNumber(context.latestRate)}/s)`;
      results.batched.push({ batchSize, concurrency, skipped, result: undefined, stretch: undefined });
      say(`batched ${batchSize} per call, ${concurrency} calls in flight: skipped, ${skipped}`);
      continue;
    }
    const batch: Operation = () => points.transfers(Array.from({ length: batchSize }, () => workload.spend('spread')));
    const [result, stretch] = await measured(
      context,
      () => points.committed,
      () =>
        runClosedLoop(batch, {
          concurrency,
          // Two calls warm the batch path; a full round of large batches would only add minutes.
          warmupOperations: 2,
          operations: Math.max(concurrency, Math.ceil((20_000 * scale) / batchSize)),
          timeLimitMs: 8000 * scale,
        }),
    );
    results.batched.push({ batchSize, concurrency, skipped: undefined, result, stretch });
    if (result.transfers > 0) context.latestRate = result.transfersPerSecond;
    say(resultLine(`batched ${batchSize} per call, ${concurrency} calls in flight`, result));
  }

  isAlive();
  await measureFixedLoad(points, context, targets.fixedLoadRatePerSecond, 10_000, 'the target');
  // Where the target rate is out of reach, the latency at a rate the service does sustain says
  // more than a backlog does.
  const sustainableRate = Math.floor(context.latestRate / 2 / 10) * 10;
  if (sustainableRate >= 10 && sustainableRate < targets.fixedLoadRatePerSecond) {
    isAlive();
    await measureFixedLoad(points, context, sustainableRate, 6000, 'half the latest closed-loop rate');
  }

  // The same measurement as at the start, on a ledger that has grown meanwhile.
  isAlive();
  await measureSingle(points, context, 'spread', 16, true);

  const probeMember: Owner = { kind: 'member', id: 'member-overdraft-probe', communityId: workload.communityId };
  await settle(context.watched.points, idlePercent, settleTimeLimitMs);
  results.overdraft.points = await overdraftProbe(
    async (amount) => void (await points.transfer(workload.funding(probeMember, amount))),
    () => points.transfer({ transferId: workload.nextId('probe'), debit: probeMember, credit: workload.shops[0]!, amount: 7 }),
    () => points.availableOf(probeMember),
  );
  say(`overdraft probe (points): ${results.overdraft.points.succeeded} of 64 spends of 7 from 100 went through`);
}

async function measureMedici(mongoUrl: string, context: Context): Promise<void> {
  const { workload, scale, results } = context;
  const medici = await MediciLedger.open(mongoUrl, databases.medici);
  try {
    say(`medici: funding ${memberCount} members`);
    await forEachConcurrently([...workload.members, workload.hotMember], 16, (member) =>
      medici.fund(workload.communityId, member.id, member === workload.hotMember ? hotMemberFunding : memberFunding),
    );
    for (const accounts of ['spread', 'hot'] as const) {
      for (const concurrency of concurrencies) {
        const spend = () => {
          const item = workload.spend(accounts);
          return medici.spend(item.debit.id, item.credit.id, item.amount);
        };
        const [result, stretch] = await measured(
          context,
          () => medici.committed,
          () =>
            runClosedLoop(spend, {
              concurrency,
              warmupOperations: Math.max(2 * concurrency, Math.round(100 * scale)),
              operations: Math.round(1500 * scale),
              timeLimitMs: 5000 * scale,
            }),
        );
        results.medici.push({ accounts, concurrency, repeat: false, result, stretch });
        say(resultLine(`medici, ${accounts}, concurrency ${concurrency}`, result));
      }
    }
    const probeMemberId = 'member-overdraft-probe';
    results.overdraft.medici = await overdraftProbe(
      (amount) => medici.fund(workload.communityId, probeMemberId, amount),
      () => medici.spend(probeMemberId, workload.shops[0]!.id, 7),
      () => medici.balanceOf(probeMemberId),
    );
    say(`overdraft probe (medici): ${results.overdraft.medici.succeeded} of 64 spends of 7 from 100 went through`);
  } finally {
    await medici.close();
  }
}

/**
 * The same spends against a gRPC server that makes one MongoDB update per transfer and nothing
 * else (bench/support/floor-servers.ts): what no ledger behind gRPC that stores a transfer can beat here.
 */
async function measureFloor(mongoUrl: string, context: Context): Promise<void> {
  const { workload, scale, results } = context;
  const floor = await startWriterFloor({ mongoUrl, databaseName: databases.floor, grpcPort: ports.floorGrpc });
  const client = new PointsLedger(floor.address);
  try {
    for (const concurrency of concurrencies) {
      const [result, stretch] = await measured(
        context,
        () => client.committed,
        () =>
          runClosedLoop(() => client.transfer(workload.spend('spread')), {
            concurrency,
            warmupOperations: Math.max(2 * concurrency, Math.round(200 * scale)),
            operations: Math.round(3000 * scale),
            timeLimitMs: 6000 * scale,
          }),
      );
      results.floor.push({ accounts: 'spread', concurrency, repeat: false, result, stretch });
      say(resultLine(`floor (one write behind gRPC), concurrency ${concurrency}`, result));
    }
    await measureFixedLoad(client, context, targets.fixedLoadRatePerSecond, 10_000, 'the target', results.floorFixedLoads);
    // The best batched shape of ours so far: 100 per call, 16 in flight.
    const [batchSize, concurrency] = [100, 16];
    const [result, stretch] = await measured(
      context,
      () => client.committed,
      () =>
        runClosedLoop(() => client.transfers(Array.from({ length: batchSize }, () => workload.spend('spread'))), {
          concurrency,
          warmupOperations: 2,
          operations: Math.ceil((20_000 * scale) / batchSize),
          timeLimitMs: 8000 * scale,
        }),
    );
    results.floorBatched.push({ batchSize, concurrency, skipped: undefined, result, stretch });
    say(resultLine(`floor batched ${batchSize} per call, ${concurrency} calls in flight`, result));
  } finally {
    client.close();
    await floor.stop();
  }
}

/**
 * VerifyLedger once the service is idle. Transfers whose client gave up may still be finishing,
 * so a report with transfers in flight is asked again a few times before it is taken.
 */
async function verifyWhenIdle(points: PointsLedger, context: Context): Promise<VerifyResult> {
  for (let attempt = 1; ; attempt += 1) {
    await settle(context.watched.points, idlePercent, settleTimeLimitMs);
    const verification = await points.verifyLedger();
    if (verification.transfersInFlight === 0 || attempt === 5) return verification;
    say(`  ${verification.transfersInFlight} transfers in flight; asking again`);
    await new Promise((resolve) => setTimeout(resolve, 3000));
  }
}

async function main(): Promise<void> {
  const scale = benchScale();
  const startedAt = new Date();
  const runId = startedAt.getTime().toString(36);
  const logger = createLogger('bench', 'warn');
  const results: Results = {
    scale,
    startedAt,
    durationMs: 0,
    memberCount,
    shopCount,
    single: [],
    batched: [],
    fixedLoads: [],
    medici: [],
    mediciProblem: undefined,
    floor: [],
    floorFixedLoads: [],
    floorBatched: [],
    floorProblem: undefined,
    overdraft: { points: undefined, medici: undefined },
    rss: { peakBytes: 0, endBytes: 0 },
    verification: undefined,
    verificationProblem: undefined,
    failure: undefined,
  };

  const infrastructureOptions = infrastructureOptionsFromEnv({
    persistent: false,
    kafkaPort: ports.kafka,
    kafkaControllerPort: ports.kafkaController,
    mongoPort: ports.mongo,
    // The in-memory server keeps every transfer on its heap; the run writes tens of thousands, and
    // at the 256 MB default the JVM spent the second half of the run collecting garbage.
    mongoHeapMb: process.env.MONGO_HEAP_MB === undefined ? 2048 : Number(process.env.MONGO_HEAP_MB),
    logger,
  });
  say(`starting Kafka (${ports.kafka}) and mongo-java-server (${ports.mongo})`);
  let infrastructure: Infrastructure | undefined;
  let points: PointsProcess | undefined;
  let ledger: PointsLedger | undefined;
  let sampler: RssSampler | undefined;
  // Ctrl-C: stop the service; exiting then runs the infrastructure's exit handler, which stops the JVMs.
  const interrupt = () => {
    void (points?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  let failure: Error | undefined;
  try {
    infrastructure = await startInfrastructure(infrastructureOptions);
    const logFile = path.join(mkdtempSync(path.join(tmpdir(), 'lovepoints-bench-')), 'points.log');
    say(`starting the points service on ${ports.pointsGrpc} (log: ${logFile})`);
    points = await PointsProcess.start({
      grpcPort: ports.pointsGrpc,
      mongoUrl: infrastructure.mongoUrl,
      kafkaBrokers: infrastructure.kafkaBrokers,
      databaseName: databases.points,
      logFile,
      startTimeLimitMs: 60_000,
      nodeOptions: pointsNodeOptions,
    });
    const pointsProcess = points;
    sampler = new RssSampler(points.pid, 250);
    const watched: WatchedProcesses = {
      points: points.pid,
      mongo: recordedPid(infrastructureOptions.stateDir, 'mongo', ports.mongo),
      kafka: recordedPid(infrastructureOptions.stateDir, 'kafka', ports.kafka),
    };
    ledger = new PointsLedger(points.address);
    const context: Context = { workload: new Workload(runId), watched, sampler, scale, results, latestRate: 1 };
    const isAlive = () => {
      if (pointsProcess.exited !== undefined) throw new Error(`the points service ${pointsProcess.exited} during the run (log: ${logFile})`);
    };
    await measurePoints(ledger, context, isAlive);
    try {
      await measureMedici(infrastructure.mongoUrl, context);
    } catch (error) {
      results.mediciProblem = error instanceof Error ? error.message : String(error);
      say(`medici failed: ${results.mediciProblem}`);
    }
    try {
      await measureFloor(infrastructure.mongoUrl, context);
    } catch (error) {
      results.floorProblem = error instanceof Error ? error.message : String(error);
      say(`the floor failed: ${results.floorProblem}`);
    }
    say('VerifyLedger');
    try {
      results.verification = await verifyWhenIdle(ledger, context);
    } catch (error) {
      results.verificationProblem = failureCode(error);
    }
  } catch (error) {
    failure = error instanceof Error ? error : new Error(String(error));
    // A refused connection says little on its own; the service's exit says why.
    if (points?.exited !== undefined) failure = new Error(`${failure.message} (the points service ${points.exited})`, { cause: failure });
  } finally {
    sampler?.stop();
    results.rss = { peakBytes: sampler?.peakBytes ?? 0, endBytes: sampler?.lastBytes ?? 0 };
    ledger?.close();
    await points?.stop();
    await infrastructure?.stop();
  }
  results.durationMs = Date.now() - startedAt.getTime();
  // Without a single measurement there is nothing worth writing down; the error says enough.
  if (failure !== undefined && results.single.length === 0) throw failure;
  results.failure = failure?.message;
  writeOwnedSection(documentFile, 'ledger', renderReport(results));
  say(`\n${targetLines(results).join('\n')}\n\nwritten to ${path.relative(process.cwd(), documentFile)}`);
  if (failure !== undefined) throw failure;
  const verification = results.verification;
  if (verification === undefined || verification.differences.length > 0 || verification.sums.some((sum) => sum.postedSum !== 0)) {
    throw new Error('VerifyLedger did not come back clean; see docs/benchmarks.md');
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench:ledger failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
