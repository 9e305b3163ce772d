import type { LoadResult, OpenLoopResult } from './support/load';
import type { PointsLedger } from './support/points-ledger';
import type { CpuShares } from './support/processes';
import { describeMachine, formatNumber, markdownTable } from './support/report';

/** What the machine did during one measurement, besides answering. */
export interface Stretch {
  cpu: CpuShares;
  /** Peak RSS of the points process during the measurement. */
  rssPeakBytes: number;
  /** How long the points process took to go idle before the measurement; undefined if it did not. */
  settledInMs: number | undefined;
  /** Transfers (or medici journal entries) already in the ledger when the measurement began. */
  ledgerSizeBefore: number;
}

export interface SingleRow {
  accounts: 'spread' | 'hot';
  concurrency: number;
  /** A repeat of an earlier measurement on the grown ledger. */
  repeat: boolean;
  result: LoadResult;
  stretch: Stretch;
}

export interface BatchRow {
  batchSize: number;
  concurrency: number;
  /** Set when the measurement was not made, and why. */
  skipped: string | undefined;
  result: LoadResult | undefined;
  stretch: Stretch | undefined;
}

export interface FixedLoadRow {
  /** Why this rate: the target's, or one the service was seen to sustain. */
  purpose: string;
  result: OpenLoopResult;
  stretch: Stretch;
}

export interface OverdraftProbe {
  funded: number;
  amount: number;
  attempts: number;
  succeeded: number;
  refusals: Record<string, number>;
  finalBalance: number;
}

export type VerifyResult = Awaited<ReturnType<PointsLedger['verifyLedger']>>;

/** How long a measurement waits for the points process to go idle first. */
export const settleTimeLimitSeconds = 30;

export const targets = { mediciRatio: 20, batchedTransfersPerSecond: 5000, fixedLoadRatePerSecond: 1000, fixedLoadP99Ms: 50, rssMb: 300 };

export interface Results {
  scale: number;
  startedAt: Date;
  durationMs: number;
  memberCount: number;
  shopCount: number;
  single: SingleRow[];
  batched: BatchRow[];
  fixedLoads: FixedLoadRow[];
  medici: SingleRow[];
  mediciProblem: string | undefined;
  /** The same spends against one MongoDB write behind gRPC (bench/support/floor-servers.ts). */
  floor: SingleRow[];
  /** The target's fixed load against the floor. */
  floorFixedLoads: FixedLoadRow[];
  /** Batched spends against the floor (one bulk write per call). */
  floorBatched: BatchRow[];
  floorProblem: string | undefined;
  overdraft: { points: OverdraftProbe | undefined; medici: OverdraftProbe | undefined };
  rss: { peakBytes: number; endBytes: number };
  verification: VerifyResult | undefined;
  verificationProblem: string | undefined;
  /** What stopped the run early, if anything did. */
  failure: string | undefined;
}

const megabytes = (bytes: number) => bytes / 1024 ** 2;
const stretchHeaders = ['ledger size before', 'idle wait before, s', 'CPU % of a core: points / mongo / kafka / client', 'points RSS peak MB'];
const noStretch = stretchHeaders.map(() => '–');

function stretchCells(stretch: Stretch | undefined): string[] {
  if (stretch === undefined) return noStretch;
  const { cpu } = stretch;
  return [
    formatNumber(stretch.ledgerSizeBefore),
    stretch.settledInMs === undefined ? 'still busy' : formatNumber(stretch.settledInMs / 1000, 2),
    [cpu.points, cpu.mongo, cpu.kafka, cpu.client].map((share) => formatNumber(share, 2)).join(' / '),
    formatNumber(megabytes(stretch.rssPeakBytes)),
  ];
}

export function failuresCell(failures: Record<string, number>): string {
  return (
    Object.entries(failures)
      .map(([code, count]) => `${code}: ${count}`)
      .join(', ') || 'none'
  );
}

export function resultLine(label: string, result: LoadResult): string {
  return (
    `${label}: ${formatNumber(result.transfersPerSecond)} transfers/s, p50 ${formatNumber(result.latency.p50Ms)} ms, ` +
    `p99 ${formatNumber(result.latency.p99Ms)} ms, ${result.transfers} transfers in ${formatNumber(result.elapsedMs / 1000)} s, ` +
    `failures: ${failuresCell(result.failures)}`
  );
}

const latencyCells = (result: LoadResult) => [
  formatNumber(result.transfersPerSecond),
  formatNumber(result.latency.p50Ms),
  formatNumber(result.latency.p99Ms),
  String(result.transfers),
  failuresCell(result.failures),
];

const firstRun = (rows: SingleRow[], accounts: string, concurrency: number) =>
  rows.find((row) => !row.repeat && row.accounts === accounts && row.concurrency === concurrency);

function mediciRatios(results: Results, accounts: 'spread' | 'hot'): { concurrency: number; ratio: number }[] {
  return results.medici
    .filter((row) => row.accounts === accounts)
    .flatMap((row) => {
      const ours = firstRun(results.single, accounts, row.concurrency);
      return ours === undefined ? [] : [{ concurrency: row.concurrency, ratio: ours.result.transfersPerSecond / row.result.transfersPerSecond }];
    });
}

export function targetLines(results: Results): string[] {
  const verdict = (met: boolean | undefined) => (met === undefined ? 'not measured' : met ? '**met**' : '**not met**');
  const ratios = mediciRatios(results, 'spread');
  const lowestRatio = ratios.length === 0 ? undefined : Math.min(...ratios.map((entry) => entry.ratio));
  const bestBatch = results.batched.reduce<BatchRow | undefined>(
    (best, row) => (row.result !== undefined && (best?.result === undefined || row.result.transfersPerSecond > best.result.transfersPerSecond) ? row : best),
    undefined,
  );
  const fixed = results.fixedLoads.find((row) => row.result.offeredRatePerSecond === targets.fixedLoadRatePerSecond)?.result;
  const fixedMet =
    fixed === undefined
      ? undefined
      : fixed.latency.p99Ms < targets.fixedLoadP99Ms &&
        fixed.transfersPerSecond >= 0.95 * targets.fixedLoadRatePerSecond &&
        fixed.unanswered === 0 &&
        fixed.stoppedEarlyAfterMs === undefined;
  const peakMb = megabytes(results.rss.peakBytes);
  const verification = results.verification;
  return [
    `≥ ${targets.mediciRatio}× medici (spread accounts, at every concurrency): ${verdict(lowestRatio === undefined ? undefined : lowestRatio >= targets.mediciRatio)} — ` +
      (ratios.map((entry) => `${formatNumber(entry.ratio)}× at ${entry.concurrency}`).join(', ') || 'no ratio'),
    `≥ ${formatNumber(targets.batchedTransfersPerSecond)} transfers/s batched: ` +
      verdict(bestBatch?.result === undefined ? undefined : bestBatch.result.transfersPerSecond >= targets.batchedTransfersPerSecond) +
      (bestBatch?.result === undefined
        ? ''
        : ` — best ${formatNumber(bestBatch.result.transfersPerSecond)}/s (${bestBatch.batchSize} per call, ${bestBatch.concurrency} in flight)`),
    `p99 < ${targets.fixedLoadP99Ms} ms at ${formatNumber(targets.fixedLoadRatePerSecond)} transfers/s: ${verdict(fixedMet)}` +
      (fixed === undefined
        ? ''
        : ` — p99 ${formatNumber(fixed.latency.p99Ms)} ms, ${formatNumber(fixed.transfersPerSecond)}/s answered` +
          (fixed.stoppedEarlyAfterMs === undefined ? '' : `, sending stopped after ${formatNumber(fixed.stoppedEarlyAfterMs / 1000)} s (backlog)`)),
    `points process RSS < ${targets.rssMb} MB: ${verdict(results.rss.peakBytes === 0 ? undefined : peakMb < targets.rssMb)} — peak ${formatNumber(peakMb)} MB`,
    `VerifyLedger clean (no differences, sums 0): ${verdict(
      verification === undefined ? undefined : verification.differences.length === 0 && verification.sums.every((sum) => sum.postedSum === 0),
    )}`,
  ];
}

/** The ledger benchmark's section of docs/benchmarks.md. */
export function renderReport(results: Results): string {
  const machine = describeMachine();
  const command = results.scale === 1 ? 'npm run bench:ledger' : `BENCH_SCALE=${results.scale} npm run bench:ledger`;
  const lines: string[] = [];
  const add = (...more: string[]) => lines.push(...more);

  add('## Points ledger', '');
  add(`Command: \`${command}\` — run ${results.startedAt.toISOString()} (took ${formatNumber(results.durationMs / 1000)} s), commit ${machine.commit}.`);
  if (results.scale !== 1)
    add('', `**A reduced trial run (BENCH_SCALE=${results.scale}): counts and time limits are scaled down; not comparable with a full run.**`);
  if (results.failure !== undefined) add('', `**The run stopped early: ${results.failure}**`);
  add('', '### Machine', '');
  add(`- CPU: ${machine.cpuModel}; \`nproc\`: ${machine.processors}`);
  add(`- Memory: ${formatNumber(machine.totalMemoryGb)} GB; Node ${machine.nodeVersion}`);
  if (machine.freeOutput !== undefined) add('', '```', '$ free -g', machine.freeOutput, '```');
  add('', '### Setup', '');
  add(
    '- Everything on 127.0.0.1 and on the same two cores: this benchmark (the client), the points service (one Node process',
    '  started the way `deploy/local/services.ts` does, attendance consumer off, outbox relay to Kafka on), mongo-java-server',
    '  (in memory) and the Kafka broker. mongo-java-server has no multi-document transactions and ignores non-unique',
    '  indexes: a query on anything but `_id` (or a unique key) scans its collection.',
    '- The points service is called through its gRPC contract (`CreateTransfer`, `CreateTransfers`) with no caller identity, as',
    '  another service calls it. Overdraft checks are on: every spend debits a member account, which may not go below zero.',
    `- Accounts: ${results.memberCount} members funded from the community issuance account and ${results.shopCount} shops.`,
    '  *Spread*: a random member pays a random shop 1–5 points. *Hot*: every spend comes from one member.',
    '- Before the first measurement, 20 s of spread spends at concurrency 16 (not measured) let the JVMs (mongo-java-server,',
    '  Kafka) compile their hot paths; without it the first measurement ran at about half speed.',
    '- Each measurement starts once the points process is idle (work left over from the previous one is not billed to it),',
    '  runs a warm-up, then a fixed number of calls or a time limit, whichever comes first. Latency is per call (for a batch,',
    '  the whole call); percentiles are nearest-rank. *Ledger size before*: transfers already in the ledger. *Idle wait*: how',
    `  long the points process stayed busy after the previous measurement (at most ${settleTimeLimitSeconds} s; mostly the outbox relay`,
    '  catching up). The CPU column is each process’s CPU time over the measurement (100 = one core busy; there are two).',
    '- medici runs in the benchmark process against the same mongo-java-server (database `lovepoints_bench_medici`), same',
    '  accounts and draws: read the member’s balance, refuse if short, then book the journal entry. It has no gRPC hop, which',
    '  favours it; it leans on non-unique indexes that this server ignores, which does not. Without a transaction the check',
    '  is not atomic (see the overdraft probe).',
  );

  add('', '### Single transfers (`CreateTransfer`)', '');
  add(
    markdownTable(
      ['accounts', 'concurrency', 'transfers/s', 'p50 ms', 'p99 ms', 'transfers measured', 'failures', ...stretchHeaders],
      results.single.map((row) => [
        row.accounts + (row.repeat ? ' (again, at the end)' : ''),
        String(row.concurrency),
        ...latencyCells(row.result),
        ...stretchCells(row.stretch),
      ]),
    ),
  );

  add('', '### Batched transfers (`CreateTransfers`, spread accounts)', '');
  add(
    markdownTable(
      ['items per call', 'calls in flight', 'transfers/s', 'p50 ms per call', 'p99 ms per call', 'transfers measured', 'failures', ...stretchHeaders],
      results.batched.map((row) => [
        String(row.batchSize),
        String(row.concurrency),
        ...(row.result === undefined ? ['skipped', '–', '–', '–', row.skipped ?? ''] : latencyCells(row.result)),
        ...stretchCells(row.stretch),
      ]),
    ),
  );

  add('', '### Latency under a fixed load (open loop, single transfers, spread accounts)', '');
  add(
    'Calls are sent on a fixed schedule whatever the answers; each latency runs from when the call was due, so a backlog shows.',
    'Sending stops early once more than half a second’s worth of calls is unanswered: the service is not keeping up.',
    '',
  );
  add(
    markdownTable(
      [
        'offered/s',
        'why this rate',
        'answered transfers/s',
        'p50 ms',
        'p99 ms',
        'max ms',
        'most in flight',
        'sending stopped after',
        'failures',
        ...stretchHeaders,
      ],
      results.fixedLoads.map(({ purpose, result, stretch }) => [
        formatNumber(result.offeredRatePerSecond),
        purpose,
        formatNumber(result.transfersPerSecond),
        formatNumber(result.latency.p50Ms),
        formatNumber(result.latency.p99Ms),
        formatNumber(result.latency.maxMs),
        String(result.maxInFlight),
        result.stoppedEarlyAfterMs === undefined ? '–' : `${formatNumber(result.stoppedEarlyAfterMs / 1000)} s`,
        failuresCell(result.failures),
        ...stretchCells(stretch),
      ]),
    ),
  );

  add('', '### medici, same workload', '');
  if (results.mediciProblem !== undefined) add(`medici could not be measured: ${results.mediciProblem}`, '');
  if (results.medici.length > 0) {
    add(
      markdownTable(
        [
          'accounts',
          'concurrency',
          'ours transfers/s',
          'medici transfers/s',
          'ours ÷ medici',
          'medici p50 ms',
          'medici p99 ms',
          'medici failures',
          ...stretchHeaders.map((header) => `medici run: ${header}`),
        ],
        results.medici.map((row) => {
          const ours = firstRun(results.single, row.accounts, row.concurrency);
          return [
            row.accounts,
            String(row.concurrency),
            formatNumber(ours?.result.transfersPerSecond),
            formatNumber(row.result.transfersPerSecond),
            `${formatNumber(ours === undefined ? undefined : ours.result.transfersPerSecond / row.result.transfersPerSecond)}×`,
            formatNumber(row.result.latency.p50Ms),
            formatNumber(row.result.latency.p99Ms),
            failuresCell(row.result.failures),
            ...stretchCells(row.stretch),
          ];
        }),
      ),
    );
  }

  add('', '### The floor: one MongoDB write behind gRPC', '');
  add(
    'The same spread spends, through the same client, against a gRPC server (the points proto) whose `CreateTransfer` makes one',
    'MongoDB update of the debit account on the same mongo-java-server and nothing else: no transfer record, no balance check, no',
    'credit, no event. No ledger behind gRPC that stores anything per transfer can be faster on this machine, so `floor ÷ medici`',
    'is the most any such ledger could reach against medici here.',
    '',
  );
  if (results.floorProblem !== undefined) add(`The floor could not be measured: ${results.floorProblem}`, '');
  if (results.floor.length > 0) {
    add(
      markdownTable(
        ['concurrency', 'floor transfers/s', 'floor p50 ms', 'floor p99 ms', 'ours transfers/s', 'ours ÷ floor', 'medici transfers/s', 'floor ÷ medici'],
        results.floor.map((row) => {
          const ours = firstRun(results.single, 'spread', row.concurrency);
          const medici = results.medici.find((entry) => entry.accounts === 'spread' && entry.concurrency === row.concurrency);
          const floorRate = row.result.transfersPerSecond;
          return [
            String(row.concurrency),
            formatNumber(floorRate),
            formatNumber(row.result.latency.p50Ms),
            formatNumber(row.result.latency.p99Ms),
            formatNumber(ours?.result.transfersPerSecond),
            formatNumber(ours === undefined ? undefined : ours.result.transfersPerSecond / floorRate),
            formatNumber(medici?.result.transfersPerSecond),
            `${formatNumber(medici === undefined ? undefined : floorRate / medici.result.transfersPerSecond)}×`,
          ];
        }),
      ),
    );
  }
  for (const row of results.floorFixedLoads) {
    const { result } = row;
    add(
      '',
      `The floor under the target's fixed load (${formatNumber(result.offeredRatePerSecond)}/s offered, open loop as above): ` +
        `${formatNumber(result.transfersPerSecond)}/s answered, p50 ${formatNumber(result.latency.p50Ms)} ms, p99 ${formatNumber(result.latency.p99Ms)} ms, ` +
        `max ${formatNumber(result.latency.maxMs)} ms, at most ${result.maxInFlight} in flight` +
        (result.stoppedEarlyAfterMs === undefined ? '.' : `; sending stopped after ${formatNumber(result.stoppedEarlyAfterMs / 1000)} s (backlog).`),
    );
  }

  for (const row of results.floorBatched) {
    if (row.result === undefined) continue;
    add(
      '',
      `The floor batched (\`CreateTransfers\`, ${row.batchSize} per call as one bulk write, ${row.concurrency} calls in flight): ` +
        `${formatNumber(row.result.transfersPerSecond)} transfers/s, p50 ${formatNumber(row.result.latency.p50Ms)} ms per call, p99 ${formatNumber(row.result.latency.p99Ms)} ms.`,
    );
  }

  add('', '### Overdraft probe', '');
  add('64 concurrent spends of 7 points from a member funded with 100: a sound overdraft check lets exactly 14 through and leaves 2.', '');
  const probeRow = (ledger: string, probe: OverdraftProbe | undefined) =>
    probe === undefined
      ? [ledger, '–', '–', '–', 'not run']
      : [
          ledger,
          `${probe.succeeded} of ${probe.attempts}`,
          String(probe.finalBalance),
          failuresCell(probe.refusals),
          probe.succeeded === Math.floor(probe.funded / probe.amount) && probe.finalBalance === probe.funded % probe.amount ? 'yes' : '**no**',
        ];
  add(
    markdownTable(
      ['ledger', 'spends through', 'balance after', 'refusals', 'sound'],
      [probeRow('points service', results.overdraft.points), probeRow('medici (check, then book)', results.overdraft.medici)],
    ),
  );

  add('', '### Points process memory', '');
  add(
    `Resident set size of the points service, sampled every 250 ms over the whole run: peak **${formatNumber(megabytes(results.rss.peakBytes))} MB**, ` +
      `${formatNumber(megabytes(results.rss.endBytes))} MB at the end. The tables above give the peak during each measurement.`,
  );

  add('', '### VerifyLedger after the run', '');
  const verification = results.verification;
  if (verification === undefined) add(`Not available: ${results.verificationProblem ?? 'the run stopped before it'}.`);
  else {
    add(
      `- Accounts checked: ${verification.accountsChecked}; transfers replayed: ${verification.transfersChecked}; in flight: ${verification.transfersInFlight}`,
      `- Differences: ${verification.differences.length === 0 ? 'none' : verification.differences.length}`,
      ...verification.differences
        .slice(0, 10)
        .map((difference) => `  - ${difference.accountId} ${difference.field}: expected ${difference.expected}, actual ${difference.actual}`),
      `- Posted sums: ${verification.sums.map((sum) => `${sum.asset} ${sum.postedSum}`).join(', ') || 'none'}`,
    );
  }

  add('', '### Targets', '');
  for (const line of targetLines(results)) add(`- ${line}`);
  const floorRatios = results.floor.flatMap((row) => {
    const medici = results.medici.find((entry) => entry.accounts === 'spread' && entry.concurrency === row.concurrency);
    return medici === undefined ? [] : [`${formatNumber(row.result.transfersPerSecond / medici.result.transfersPerSecond)}× at ${row.concurrency}`];
  });
  if (floorRatios.length > 0) {
    add(
      `- (for reference, the floor — one MongoDB write behind gRPC, nothing else — vs medici: ${floorRatios.join(', ')}: no ledger behind gRPC that stores its transfers goes past these ratios on this machine)`,
    );
  }
  const floorFixed = results.floorFixedLoads[0]?.result;
  const floorBatch = results.floorBatched[0]?.result;
  if (floorFixed !== undefined || floorBatch !== undefined) {
    add(
      '- (for reference, the floor on this machine: ' +
        [
          floorBatch === undefined ? undefined : `${formatNumber(floorBatch.transfersPerSecond)} transfers/s batched`,
          floorFixed === undefined
            ? undefined
            : `p99 ${formatNumber(floorFixed.latency.p99Ms)} ms at ${formatNumber(floorFixed.offeredRatePerSecond)}/s offered`,
        ]
          .filter((part) => part !== undefined)
          .join('; ') +
        ')',
    );
  }
  const hotRatios = mediciRatios(results, 'hot');
  if (hotRatios.length > 0)
    add(`- (for reference, hot account vs medici: ${hotRatios.map((entry) => `${formatNumber(entry.ratio)}× at ${entry.concurrency}`).join(', ')})`);
  const repeated = results.single.find((row) => row.repeat);
  const original = repeated === undefined ? undefined : firstRun(results.single, repeated.accounts, repeated.concurrency);
  if (repeated !== undefined && original !== undefined) {
    add(
      '',
      `Growth: ${repeated.accounts} transfers at concurrency ${repeated.concurrency} went from ${formatNumber(original.result.transfersPerSecond)}/s ` +
        `with ${formatNumber(original.stretch.ledgerSizeBefore)} transfers in the ledger to ${formatNumber(repeated.result.transfersPerSecond)}/s ` +
        `with ${formatNumber(repeated.stretch.ledgerSizeBefore)}.`,
    );
  }
  return lines.join('\n');
}
