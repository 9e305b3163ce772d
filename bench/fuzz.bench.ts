import path from 'node:path';
import {
  describeOffenders,
  drawRequests,
  type FuzzReport,
  fuzzRequestCount,
  fuzzRequests,
  fuzzSeed,
  operationsFromOpenApi,
  runFuzz,
} from '../test/support/fuzz';
import { type MachineLoad, startMachineWatch } from './support/processes';
import { startBenchPlatform } from './support/platform';
import { describeMachine, formatNumber, markdownTable, writeOwnedSection } from './support/report';
import { benchScale } from './support/scale';

/**
 * `npm run bench:fuzz`: the fuzz spec's generator at length (FUZZ_REQUESTS, default 50,000;
 * FUZZ_SEED draws a run again) against a platform of its own (gateway 28180, services
 * 28151–28154, Kafka 29092/29093, MongoDB 27117: apart from the tests, `npm start` and the other
 * benchmarks, and below the kernel's ephemeral ports). Fails, after writing its section of
 * docs/benchmarks.md, on any 5xx, any error that is not problem+json, or a /readyz that is not 200.
 */
const ports = {
  gateway: 28180,
  volunteer: 28151,
  points: 28152,
  redeem: 28153,
  timebank: 28154,
  kafka: 29092,
  kafkaController: 29093,
  mongo: 27117,
};
const concurrency = 8;
const readinessEvery = 500;
const documentFile = path.resolve(__dirname, '..', 'docs', 'benchmarks.md');

const say = (line: string) => process.stdout.write(`${line}\n`);

function render(report: FuzzReport, context: { seed: number; operationCount: number; startedAt: Date; durationMs: number; machine: MachineLoad }): string {
  const machineFacts = describeMachine();
  const statuses = Object.entries(report.countsByStatus).sort(([left], [right]) => left.localeCompare(right));
  const perOperation = Object.values(report.countsByOperation);
  const verdict = report.offenderCount === 0 && report.readinessFailures.length === 0;
  const offenders = report.offenderCount === 0 ? '' : `\n\n### Wrong answers\n\n\`\`\`\n${describeOffenders(report, context.seed).slice(0, 20_000)}\n\`\`\``;
  return `## Gateway fuzz

Command: \`FUZZ_SEED=${context.seed} FUZZ_REQUESTS=${report.sent} npm run bench:fuzz\` — run ${context.startedAt.toISOString()} (took ${Math.round(context.durationMs / 1000)} s), commit ${machineFacts.commit}.

- Machine: ${machineFacts.cpuModel}, \`nproc\` ${machineFacts.processors}, Node ${machineFacts.nodeVersion}; one-minute load average ${formatNumber(context.machine.loadAverage.min)}–${formatNumber(context.machine.loadAverage.max)} (mean ${formatNumber(context.machine.loadAverage.mean)}) while fuzzing, on a machine shared with other people's runs.
- The generator of \`test/support/fuzz.ts\` (the one \`test/integration/fuzz.int.spec.ts\` runs 2,000 of in CI): every operation of
  \`/api/openapi.json\` (${context.operationCount} now), with bodies, query strings, path ids, content types, encodings and tokens (four roles,
  none, forged) drawn to be wrong in many ways; ${concurrency} requests in flight; \`/readyz\` checked every ${readinessEvery} requests.
- ${report.sent.toLocaleString('en-US')} requests in ${formatNumber(report.durationMs / 1000)} s (${formatNumber(report.sent / (report.durationMs / 1000))}/s); each operation drew ${Math.min(...perOperation).toLocaleString('en-US')}–${Math.max(...perOperation).toLocaleString('en-US')} of them.

${markdownTable(
  statuses.map(([status]) => status),
  [statuses.map(([, count]) => count.toLocaleString('en-US'))],
)}

- 5xx answers, errors not in \`application/problem+json\`, or no answer: **${report.offenderCount}**
- \`/readyz\`: ${report.readinessChecks - report.readinessFailures.length} of ${report.readinessChecks} checks answered 200
- Verdict: ${verdict ? '**passed**' : '**failed**'}${offenders}`;
}

async function main(): Promise<void> {
  const scale = benchScale();
  const requestCount = Math.max(1, Math.round(fuzzRequestCount(50_000) * scale));
  const seed = fuzzSeed();
  const startedAt = new Date();
  say(`starting the platform (gateway on ${ports.gateway})`);
  const bench = await startBenchPlatform('fuzz', ports);
  say(`platform ready at ${bench.platform.gatewayUrl} (service logs in ${bench.logDirectory})`);
  let report: FuzzReport;
  let operationCount: number;
  let machine: MachineLoad;
  try {
    // Imported only now: it reads the TEST_* variables the bench platform exported.
    const { createFuzzIdentities } = await import('../test/support/fuzz-identities');
    const identities = await createFuzzIdentities();
    const document: unknown = await (await fetch(`${bench.platform.gatewayUrl}/api/openapi.json`)).json();
    const operations = operationsFromOpenApi(document);
    operationCount = operations.length;
    say(`FUZZ_SEED=${seed}: ${requestCount} requests over ${operations.length} operations`);
    const stopMachine = startMachineWatch();
    report = await runFuzz({
      baseUrl: bench.platform.gatewayUrl,
      requests: drawRequests(fuzzRequests(operations, identities), seed, requestCount),
      concurrency,
      readinessEvery,
      onProgress: (sent) => {
        if (sent % 5000 === 0) say(`  ${sent} sent`);
      },
    });
    machine = stopMachine();
  } finally {
    await bench.platform.stop();
  }
  say(`by status: ${JSON.stringify(report.countsByStatus)}`);
  writeOwnedSection(documentFile, 'fuzz', render(report, { seed, operationCount, startedAt, durationMs: Date.now() - startedAt.getTime(), machine }));
  say(`written to ${path.relative(process.cwd(), documentFile)}`);
  if (report.offenderCount > 0) throw new Error(describeOffenders(report, seed));
  if (report.readinessFailures.length > 0) throw new Error(`/readyz failed: ${JSON.stringify(report.readinessFailures)}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench:fuzz failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
