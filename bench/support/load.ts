import { DomainError } from '@lovepoints/errors';

/** What one call achieved: transfers that went through, and the result codes of refused items. */
export interface OperationResult {
  succeeded: number;
  refused: string[];
}

/** One call to the system under test (a transfer, or a batch of them). */
export type Operation = () => Promise<OperationResult>;

export interface LatencySummary {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface LoadResult {
  /** Calls completed (successfully or not) in the measured phase. */
  operations: number;
  /** Transfers that went through in the measured phase. */
  transfers: number;
  elapsedMs: number;
  transfersPerSecond: number;
  /** Latency of each call, failed ones included (a refusal is an answer too). */
  latency: LatencySummary;
  /** Failed calls and refused batch items, by result code. */
  failures: Record<string, number>;
}

export interface ClosedLoopOptions {
  concurrency: number;
  /** Calls made before measuring, so connections, caches and the JIT are warm. */
  warmupOperations: number;
  /** Calls in the measured phase, unless the time limit comes first. */
  operations: number;
  timeLimitMs: number;
}

export interface OpenLoopOptions {
  ratePerSecond: number;
  durationMs: number;
  /** How long to wait for calls still in flight once sending stops. */
  drainTimeLimitMs: number;
  /**
   * Sending stops early once this many calls are unanswered: the system is not keeping up, and a
   * longer run would only pile up work that later measurements would pay for.
   */
  inFlightLimit: number;
}

export interface OpenLoopResult extends LoadResult {
  offeredRatePerSecond: number;
  /** Calls not answered within the drain time limit (counted as failures, not in latency). */
  unanswered: number;
  maxInFlight: number;
  /** When sending stopped because of the in-flight limit, how long it had run; else undefined. */
  stoppedEarlyAfterMs: number | undefined;
}

/** Nearest-rank percentile of an ascending list. */
function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(fraction * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarizeLatencies(latenciesMs: number[]): LatencySummary {
  const sorted = Float64Array.from(latenciesMs).sort();
  const values = Array.from(sorted);
  return { samples: values.length, p50Ms: percentile(values, 0.5), p99Ms: percentile(values, 0.99), maxMs: values.at(-1) ?? Number.NaN };
}

/** The result code of a failed call: the domain code the service answered, or the error's message. */
export function failureCode(error: unknown): string {
  if (error instanceof DomainError) return error.code;
  return (error instanceof Error ? error.message : String(error)).slice(0, 80);
}

class Tally {
  readonly latenciesMs: number[] = [];
  readonly failures: Record<string, number> = {};
  transfers = 0;
  operations = 0;

  count(code: string, times = 1): void {
    this.failures[code] = (this.failures[code] ?? 0) + times;
  }

  async measure(operation: Operation, startedAtMs: number): Promise<void> {
    try {
      const result = await operation();
      this.transfers += result.succeeded;
      for (const code of result.refused) this.count(code);
    } catch (error) {
      this.count(failureCode(error));
    }
    this.latenciesMs.push(performance.now() - startedAtMs);
    this.operations += 1;
  }
}

/**
 * `concurrency` callers, each sending its next call as soon as the previous one is answered:
 * the throughput the system sustains with that many requests in flight.
 */
export async function runClosedLoop(operation: Operation, options: ClosedLoopOptions): Promise<LoadResult> {
  const callers = (total: number, deadlineMs: number, tally: Tally) => {
    let started = 0;
    const caller = async () => {
      while (started < total && performance.now() < deadlineMs) {
        started += 1;
        await tally.measure(operation, performance.now());
      }
    };
    return Promise.all(Array.from({ length: options.concurrency }, caller));
  };
  // Warm-up has a time limit of its own so a very slow system cannot eat the measured phase's.
  await callers(options.warmupOperations, performance.now() + options.timeLimitMs / 2, new Tally());
  const tally = new Tally();
  const startedAtMs = performance.now();
  await callers(options.operations, startedAtMs + options.timeLimitMs, tally);
  const elapsedMs = performance.now() - startedAtMs;
  return {
    operations: tally.operations,
    transfers: tally.transfers,
    elapsedMs,
    transfersPerSecond: (tally.transfers * 1000) / elapsedMs,
    latency: summarizeLatencies(tally.latenciesMs),
    failures: tally.failures,
  };
}

const sleep = (durationMs: number) => new Promise<void>((resolve) => setTimeout(resolve, durationMs));

/**
 * Calls sent on a fixed schedule whatever the answers: the latency a steady load sees. Each
 * call's latency runs from when it was due, not from when it was sent, so a sender that falls
 * behind shows up in the numbers instead of hiding (coordinated omission).
 */
export async function runOpenLoop(operation: Operation, options: OpenLoopOptions): Promise<OpenLoopResult> {
  const tally = new Tally();
  const intervalMs = 1000 / options.ratePerSecond;
  const total = Math.floor((options.durationMs / 1000) * options.ratePerSecond);
  const inFlight = new Set<Promise<void>>();
  let maxInFlight = 0;
  let lastAnswerAtMs = 0;
  let stoppedEarlyAfterMs: number | undefined;
  const startedAtMs = performance.now();
  for (let sent = 0; sent < total;) {
    if (inFlight.size > options.inFlightLimit) {
      stoppedEarlyAfterMs = performance.now() - startedAtMs;
      break;
    }
    const dueCount = Math.min(total, Math.floor((performance.now() - startedAtMs) / intervalMs) + 1);
    for (; sent < dueCount; sent += 1) {
      const call = tally.measure(operation, startedAtMs + sent * intervalMs).then(() => {
        inFlight.delete(call);
        lastAnswerAtMs = performance.now();
      });
      inFlight.add(call);
    }
    maxInFlight = Math.max(maxInFlight, inFlight.size);
    // Timers fire at best every millisecond or so; each wake-up sends all calls due by then.
    await sleep(1);
  }
  await Promise.race([Promise.all(inFlight), sleep(options.drainTimeLimitMs)]);
  const unanswered = inFlight.size;
  if (unanswered > 0) tally.count('unanswered within the drain time', unanswered);
  const sendingMs = stoppedEarlyAfterMs ?? options.durationMs;
  const elapsedMs = Math.max(lastAnswerAtMs, startedAtMs + sendingMs) - startedAtMs;
  return {
    operations: tally.operations,
    transfers: tally.transfers,
    elapsedMs,
    transfersPerSecond: (tally.transfers * 1000) / elapsedMs,
    latency: summarizeLatencies(tally.latenciesMs),
    failures: tally.failures,
    offeredRatePerSecond: options.ratePerSecond,
    unanswered,
    maxInFlight,
    stoppedEarlyAfterMs,
  };
}
