import autocannon from 'autocannon';
import path from 'node:path';
import { type MachineLoad, startCpuWatchOf, startMachineWatch } from './support/processes';
import { startFloor } from './support/floor';
import { type BenchPlatform, startBenchPlatform } from './support/platform';
import { describeMachine, formatNumber, markdownTable, writeOwnedSection } from './support/report';
import { benchScale } from './support/scale';

/**
 * `npm run bench:gateway`: authenticated balance reads through the gateway and its gRPC hop to
 * the points service, with autocannon, written to docs/benchmarks.md. Starts the whole platform
 * on ports of its own (tests: 18180 and 21151–21154; `npm start`: 8080 and 50051–50054; the
 * ledger bench: 28352; bench:fuzz: 28180 and 28151–28154; its floor: 28281 and 28255), below the kernel's ephemeral range
 * (32768–60999), where a client socket of another run could take a port first.
 */
const ports = {
  gateway: 28280,
  floorHttp: 28281,
  floorGrpc: 28255,
  volunteer: 28251,
  points: 28252,
  redeem: 28253,
  timebank: 28254,
  kafka: 29192,
  kafkaController: 29193,
  mongo: 27217,
};
const memberCount = 20;
/** Gateway processes on the port (GATEWAY_WORKERS); BENCH_GATEWAY_WORKERS overrides, to compare. */
const gatewayWorkers = Number(process.env.BENCH_GATEWAY_WORKERS ?? 2);
const connections = 64;
const warmupSeconds = 5;
const measureSeconds = 20;
const targets = { requestsPerSecond: 2000, p99Ms: 50 };
const documentFile = path.resolve(__dirname, '..', 'docs', 'benchmarks.md');
const balancePath = '/api/v1/points/balance';

const say = (line: string) => process.stdout.write(`${line}\n`);

interface Measurement {
  result: autocannon.Result;
  cpu: Record<string, number>;
  machine: MachineLoad;
  /** The same load against the bare parts (bench/support/floor-servers.ts), in the same run. */
  floor: { result: autocannon.Result; cpu: Record<string, number>; machine: MachineLoad };
}

/** GET the balance for `durationSeconds` over `connections`, each request with the next member's token. */
async function hammer(gatewayUrl: string, tokens: string[], durationSeconds: number, requestPath = balancePath): Promise<autocannon.Result> {
  let next = 0;
  return autocannon({
    url: gatewayUrl,
    connections,
    duration: durationSeconds,
    requests: [
      {
        method: 'GET',
        path: requestPath,
        setupRequest: (request) => ({ ...request, headers: { ...request.headers, authorization: `Bearer ${tokens[next++ % tokens.length]}` } }),
      },
    ],
  });
}

/** Members of one community, each credited once by an organizer, so their accounts exist. */
async function members(): Promise<string[]> {
  // Imported only now: these helpers read the TEST_* variables the bench platform exported.
  const { api, communityWithOrganizer, register } = await import('../test/support/api');
  const { communityId, organizer } = await communityWithOrganizer();
  const tokens: string[] = [];
  for (let index = 0; index < memberCount; index += 1) {
    const member = await register(communityId, `压测居民${index}`);
    const award = await api('POST', '/api/v1/points/awards', {
      token: organizer.token,
      body: { userId: member.userId, points: 10 + index, reason: '压测初始积分', category: 'adjustment' },
    });
    if (award.status !== 201) throw new Error(`award failed: ${award.status} ${JSON.stringify(award.body)}`);
    tokens.push(member.token);
  }
  const check = await api<{ points: number }>('GET', balancePath, { token: tokens[0] });
  if (check.status !== 200 || check.body.points !== 10) throw new Error(`unexpected balance: ${check.status} ${JSON.stringify(check.body)}`);
  return tokens;
}

function statusCounts(result: autocannon.Result): string {
  return (
    Object.entries(result.statusCodeStats ?? {})
      .map(([status, { count }]) => `${status}: ${(count ?? 0).toLocaleString('en-US')}`)
      .join(', ') || '–'
  );
}

function render(measurement: Measurement, context: { startedAt: Date; durationMs: number; scale: number; bench: BenchPlatform }): string {
  const { result, cpu, machine, floor } = measurement;
  const machineFacts = describeMachine();
  const successPerSecond = result['2xx'] / result.duration;
  const floorPerSecond = floor.result['2xx'] / floor.result.duration;
  const met = (ok: boolean) => (ok ? '**met**' : '**not met**');
  const cpuCell = (name: string) => formatNumber(cpu[name]);
  const ownPercent = Object.values(cpu).reduce((sum, value) => sum + value, 0);
  const othersPercent = machine.busyPercent === undefined ? undefined : Math.max(0, machine.busyPercent - ownPercent);
  const sharing =
    othersPercent !== undefined && othersPercent >= 20
      ? 'The machine is shared: other people’s test runs and builds took that CPU from this run, so the numbers are lower than an idle machine would give.'
      : 'Little else ran on the machine meanwhile.';
  const scaleNote = context.scale === 1 ? '' : `\n\n**Quick trial at BENCH_SCALE=${context.scale}: durations scaled down; not comparable with a full run.**`;
  return `## Gateway: authenticated balance reads

Command: \`npm run bench:gateway\` — run ${context.startedAt.toISOString()} (took ${Math.round(context.durationMs / 1000)} s), commit ${machineFacts.commit}.${scaleNote}

### Machine

- CPU: ${machineFacts.cpuModel}; \`nproc\`: ${machineFacts.processors}
- Memory: ${formatNumber(machineFacts.totalMemoryGb)} GB; Node ${machineFacts.nodeVersion}
- One-minute load average during the measurement (this run's own processes count in it too): ${formatNumber(machine.loadAverage.start)} at the start, ${formatNumber(machine.loadAverage.min)}–${formatNumber(machine.loadAverage.max)} (mean ${formatNumber(machine.loadAverage.mean)}).
- All cores together were busy ${formatNumber(machine.busyPercent)} % of one core: this run's processes (below) ${formatNumber(ownPercent)} %, everything else ${formatNumber(othersPercent)} %.
  ${sharing}

### Setup

- Everything on 127.0.0.1 and on the same ${machineFacts.processors} cores: autocannon (in the benchmark's process), the gateway, the four services,
  mongo-java-server (in memory) and the Kafka broker, started by \`startPlatform\` as \`npm start\` does, at the default log level
  (\`info\`: one log line per request) and with the per-user and per-address rate limits raised out of the way.
- The gateway runs as ${gatewayWorkers} process${gatewayWorkers === 1 ? '' : 'es'} on its port (\`GATEWAY_WORKERS=${gatewayWorkers}\`; its CPU below counts them all).
- ${memberCount} members of one community, each credited once (so their accounts exist), each with an access token.
- \`GET ${balancePath}\` over ${connections} keep-alive connections, each request with the next member's token (round robin):
  the gateway verifies the token (HS256), checks the rate limits and calls \`GetBalance\` on the points service over gRPC, which reads
  the member's POINTS and TIME accounts and the community's rules from MongoDB.
- ${Math.round(warmupSeconds * context.scale)} s warm-up (not counted), then ${Math.round(measureSeconds * context.scale)} s measured. Latency is autocannon's, per request.

### Result

${markdownTable(
  ['requests/s (2xx)', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'requests', 'non-2xx', 'errors (timeouts)', 'statuses'],
  [
    [
      formatNumber(successPerSecond),
      formatNumber(result.latency.p50),
      formatNumber(result.latency.p90),
      formatNumber(result.latency.p99),
      formatNumber(result.latency.max),
      result.requests.total.toLocaleString('en-US'),
      result.non2xx.toLocaleString('en-US'),
      `${result.errors} (${result.timeouts})`,
      statusCounts(result),
    ],
  ],
)}

CPU over the measurement, in % of one core (100 = one core busy; there are ${machineFacts.processors}):

${markdownTable(
  ['gateway', 'points', 'mongo', 'kafka', 'volunteer', 'redeem', 'timebank', 'client (autocannon)'],
  [['gateway', 'points', 'mongo', 'kafka', 'volunteer', 'redeem', 'timebank', 'client'].map(cpuCell)],
)}

### The floor: the same load against bare parts, in the same run

To tell what the platform adds from what this machine allows, the run then sends the same load (same connections, tokens and
durations) to the least that can answer it with the same parts (\`bench/support/floor-servers.ts\`): ${gatewayWorkers} plain
\`node:http\` process${gatewayWorkers === 1 ? '' : 'es'} that look the token up in a map (as if every token were verified before), call
\`GetBalance\` over gRPC (@grpc/grpc-js, the points proto) on one plain gRPC server, which reads one account document by \`_id\`
with the MongoDB driver from the same mongo-java-server; no framework, validation, policy, rate limit or log line. The platform
stays up, idle, meanwhile, as the services not under load were during the measurement above.

${markdownTable(
  ['', 'requests/s (2xx)', 'p50 ms', 'p99 ms', 'non-2xx', 'CPU % of a core: HTTP / gRPC service / mongo', 'all cores busy, % of one'],
  [
    [
      'platform (above)',
      formatNumber(successPerSecond),
      formatNumber(result.latency.p50),
      formatNumber(result.latency.p99),
      result.non2xx.toLocaleString('en-US'),
      [cpu.gateway, cpu.points, cpu.mongo].map((value) => formatNumber(value)).join(' / '),
      formatNumber(machine.busyPercent),
    ],
    [
      'bare parts',
      formatNumber(floorPerSecond),
      formatNumber(floor.result.latency.p50),
      formatNumber(floor.result.latency.p99),
      floor.result.non2xx.toLocaleString('en-US'),
      [floor.cpu.front, floor.cpu.backend, floor.cpu.mongo].map((value) => formatNumber(value)).join(' / '),
      formatNumber(floor.machine.busyPercent),
    ],
  ],
)}

The platform answers ${formatNumber((100 * successPerSecond) / floorPerSecond)} % of what the bare parts answer here.

### Targets

- ≥ ${targets.requestsPerSecond.toLocaleString('en-US')} requests/s: ${met(successPerSecond >= targets.requestsPerSecond)} — ${formatNumber(successPerSecond)}/s
- p99 < ${targets.p99Ms} ms: ${met(result.latency.p99 < targets.p99Ms)} — ${formatNumber(result.latency.p99)} ms
- no errors and no non-2xx answers: ${met(result.errors === 0 && result.non2xx === 0)}
- (for reference, the bare parts: ${met(floorPerSecond >= targets.requestsPerSecond)} for ${targets.requestsPerSecond.toLocaleString('en-US')}/s — ${formatNumber(floorPerSecond)}/s; ${met(floor.result.latency.p99 < targets.p99Ms)} for p99 — ${formatNumber(floor.result.latency.p99)} ms)`;
}

async function main(): Promise<void> {
  const scale = benchScale();
  const startedAt = new Date();
  say(`starting the platform (gateway on ${ports.gateway})`);
  const bench = await startBenchPlatform('gateway', ports, { GATEWAY_WORKERS: String(gatewayWorkers) });
  say(`platform ready at ${bench.platform.gatewayUrl} (service logs in ${bench.logDirectory})`);
  let measurement: Measurement;
  try {
    const tokens = await members();
    say(`warm-up: ${Math.round(warmupSeconds * scale)} s`);
    await hammer(bench.platform.gatewayUrl, tokens, Math.max(1, Math.round(warmupSeconds * scale)));
    say(`measuring: ${Math.round(measureSeconds * scale)} s at ${connections} connections`);
    const stopCpu = startCpuWatchOf(bench.processIds);
    const stopMachine = startMachineWatch();
    const result = await hammer(bench.platform.gatewayUrl, tokens, Math.max(2, Math.round(measureSeconds * scale)));
    const platformCpu = stopCpu();
    const platformMachine = stopMachine();
    say(`the floor: the same load against bare parts (${gatewayWorkers} HTTP processes, one gRPC backend, the same MongoDB)`);
    const floor = await startFloor({
      mongoUrl: process.env.TEST_MONGO_URL!,
      databaseName: 'lovepoints_bench_gateway_floor',
      tokens,
      httpPort: ports.floorHttp,
      grpcPort: ports.floorGrpc,
      workers: gatewayWorkers,
    });
    try {
      await hammer(floor.url, tokens, Math.max(1, Math.round(warmupSeconds * scale)), '/balance');
      const stopFloorCpu = startCpuWatchOf({ ...floor.processIds, mongo: bench.processIds.mongo });
      const stopFloorMachine = startMachineWatch();
      const floorResult = await hammer(floor.url, tokens, Math.max(2, Math.round(measureSeconds * scale)), '/balance');
      measurement = {
        result,
        cpu: platformCpu,
        machine: platformMachine,
        floor: { result: floorResult, cpu: stopFloorCpu(), machine: stopFloorMachine() },
      };
    } finally {
      await floor.stop();
    }
  } finally {
    await bench.platform.stop();
  }
  const { result } = measurement;
  say(
    `${formatNumber(result['2xx'] / result.duration)} requests/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ` +
      `non-2xx ${result.non2xx}, errors ${result.errors}, load average ${formatNumber(measurement.machine.loadAverage.mean)}`,
  );
  const { floor } = measurement;
  say(`floor: ${formatNumber(floor.result['2xx'] / floor.result.duration)} requests/s, p50 ${floor.result.latency.p50} ms, p99 ${floor.result.latency.p99} ms`);
  writeOwnedSection(documentFile, 'gateway', render(measurement, { startedAt, durationMs: Date.now() - startedAt.getTime(), scale, bench }));
  say(`written to ${path.relative(process.cwd(), documentFile)}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench:gateway failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
