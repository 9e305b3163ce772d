import { checkHealth } from '@lovepoints/grpc';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { childPids, statFields } from '../../test/support/proc';

const repositoryRoot = path.resolve(__dirname, '../..');
const sleep = (durationMs: number) => new Promise<void>((resolve) => setTimeout(resolve, durationMs));

export interface PointsProcessOptions {
  grpcPort: number;
  mongoUrl: string;
  kafkaBrokers: string[];
  databaseName: string;
  /** Where the service's output goes, so a failure can be read after the run. */
  logFile: string;
  startTimeLimitMs: number;
  /** NODE_OPTIONS for the service (e.g. a heap limit, as a deployment sets one). */
  nodeOptions?: string;
}

/** The points service alone, as its own Node process, the way deploy/local/services.ts starts it. */
export class PointsProcess {
  readonly address: string;
  private exitDescription: string | undefined;

  private constructor(
    private readonly child: ChildProcess,
    grpcPort: number,
  ) {
    this.address = `127.0.0.1:${grpcPort}`;
    child.once('exit', (code, signal) => {
      this.exitDescription = signal === null ? `exited with code ${code}` : `was killed by ${signal}`;
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('the points service has no pid');
    return this.child.pid;
  }

  /** Why the process is gone, or undefined while it runs. */
  get exited(): string | undefined {
    return this.exitDescription;
  }

  static async start(options: PointsProcessOptions): Promise<PointsProcess> {
    // BENCH_CPU_PROFILE=<folder>: the service writes a V8 CPU profile there when it stops (as bench/support/platform.ts).
    const profile = process.env.BENCH_CPU_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_CPU_PROFILE)}`] : [];
    const child = spawn(process.execPath, [...profile, '--import', 'tsx', path.join('services', 'points', 'src', 'main.ts')], {
      cwd: repositoryRoot,
      env: {
        ...process.env,
        MONGO_URL: options.mongoUrl,
        KAFKA_BROKERS: options.kafkaBrokers.join(','),
        POINTS_GRPC_PORT: String(options.grpcPort),
        POINTS_MONGO_DB: options.databaseName,
        LOG_LEVEL: 'warn',
        // Only the ledger is measured; the attendance consumer would only add noise.
        POINTS_CONSUMERS_ENABLED: 'false',
        NODE_OPTIONS: options.nodeOptions ?? '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const log = createWriteStream(options.logFile);
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    const points = new PointsProcess(child, options.grpcPort);
    const deadlineMs = Date.now() + options.startTimeLimitMs;
    while (!(await checkHealth(points.address, 1000))) {
      if (points.exited !== undefined) throw new Error(`the points service ${points.exited} while starting (log: ${options.logFile})`);
      if (Date.now() > deadlineMs) {
        await points.stop();
        throw new Error(`the points service did not report SERVING within ${options.startTimeLimitMs} ms (log: ${options.logFile})`);
      }
      await sleep(250);
    }
    return points;
  }

  /** SIGTERM, so it stops the way it would in production; SIGKILL if it does not within 10 s. */
  async stop(): Promise<void> {
    if (this.exitDescription !== undefined) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Resident set size of a process in bytes, or undefined once it is gone. */
export function residentBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

/** Kernel clock ticks per second, the unit of the CPU times in /proc/<pid>/stat. */
const clockTicksPerSecond = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * User plus system CPU time a process and its live children (a clustered gateway's workers) have
 * used, in seconds, or undefined when the process cannot be read.
 */
export function cpuSeconds(pid: number): number | undefined {
  try {
    let ticks = 0;
    for (const one of [pid, ...childPids(pid)]) {
      try {
        const fields = statFields(one);
        ticks += Number(fields[11]) + Number(fields[12]);
      } catch (error) {
        if (one === pid) throw error;
      }
    }
    return ticks / clockTicksPerSecond;
  } catch {
    return undefined;
  }
}

/** Samples the points process's RSS in the background and keeps the peak, overall and per stretch. */
export class RssSampler {
  peakBytes = 0;
  lastBytes = 0;
  /** The peak since the last `startWindow()`. */
  windowPeakBytes = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    intervalMs: number,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    // Sampling must never keep the benchmark alive on its own.
    this.timer.unref();
  }

  sample(): void {
    const bytes = residentBytes(this.pid);
    if (bytes === undefined) return;
    this.lastBytes = bytes;
    this.peakBytes = Math.max(this.peakBytes, bytes);
    this.windowPeakBytes = Math.max(this.windowPeakBytes, bytes);
  }

  startWindow(): void {
    this.windowPeakBytes = 0;
    this.sample();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** The processes whose CPU use is shown per workload, to tell where the time goes. */
export interface WatchedProcesses {
  points: number;
  mongo: number | undefined;
  kafka: number | undefined;
}

/** CPU use of each watched process (and of this one, the client) over a stretch, in % of one core. */
export interface CpuShares {
  points: number;
  mongo: number | undefined;
  kafka: number | undefined;
  client: number;
}

export function startCpuWatch(processes: WatchedProcesses): () => CpuShares {
  const startedAtMs = performance.now();
  const clientStart = process.cpuUsage();
  const before = { points: cpuSeconds(processes.points), mongo: pidCpu(processes.mongo), kafka: pidCpu(processes.kafka) };
  return () => {
    const elapsedSeconds = (performance.now() - startedAtMs) / 1000;
    const share = (start: number | undefined, end: number | undefined) =>
      start === undefined || end === undefined ? undefined : ((end - start) / elapsedSeconds) * 100;
    const client = process.cpuUsage(clientStart);
    return {
      points: share(before.points, cpuSeconds(processes.points)) ?? Number.NaN,
      mongo: share(before.mongo, pidCpu(processes.mongo)),
      kafka: share(before.kafka, pidCpu(processes.kafka)),
      client: ((client.user + client.system) / 1e6 / elapsedSeconds) * 100,
    };
  };
}

function pidCpu(pid: number | undefined): number | undefined {
  return pid === undefined ? undefined : cpuSeconds(pid);
}

/** The pid in an infrastructure pid file (`<stateDir>/run/<name>-<port>.pid`), if it is there. */
export function recordedPid(stateDir: string, name: 'kafka' | 'mongo', port: number): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(stateDir, 'run', `${name}-${port}.pid`), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Waits until a process is nearly idle (below `idlePercent` of a core over half a second), so
 * work queued by one measurement (calls that timed out on the client but still run on the
 * server, events still being relayed) is not billed to the next. Resolves with how long it took,
 * or undefined if the process was still busy at the time limit.
 */
export async function settle(pid: number, idlePercent: number, timeLimitMs: number): Promise<number | undefined> {
  const startedAtMs = performance.now();
  const windowMs = 500;
  while (performance.now() - startedAtMs < timeLimitMs) {
    const before = cpuSeconds(pid);
    await sleep(windowMs);
    const after = cpuSeconds(pid);
    if (before === undefined || after === undefined) return undefined;
    if (((after - before) * 1000 * 100) / windowMs < idlePercent) return performance.now() - startedAtMs;
  }
  return undefined;
}

/**
 * CPU use of any named processes (and of this one, as `client`) over a stretch, in % of one
 * core; a process that cannot be read is left out.
 */
export function startCpuWatchOf(pids: Record<string, number | undefined>): () => Record<string, number> {
  const startedAtMs = performance.now();
  const clientStart = process.cpuUsage();
  const before = Object.entries(pids).map(([name, pid]) => [name, pid, pidCpu(pid)] as const);
  return () => {
    const elapsedSeconds = (performance.now() - startedAtMs) / 1000;
    const shares: Record<string, number> = {};
    for (const [name, pid, start] of before) {
      const end = pidCpu(pid);
      if (start !== undefined && end !== undefined) shares[name] = ((end - start) / elapsedSeconds) * 100;
    }
    const client = process.cpuUsage(clientStart);
    shares.client = ((client.user + client.system) / 1e6 / elapsedSeconds) * 100;
    return shares;
  };
}

/** Busy and total jiffies of all cores together, from /proc/stat. */
function machineJiffies(): { busy: number; total: number } | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = fields.reduce((sum, value) => sum + value, 0);
    // idle and iowait are the 4th and 5th fields.
    return { busy: total - (fields[3] ?? 0) - (fields[4] ?? 0), total };
  } catch {
    return undefined;
  }
}

export interface MachineLoad {
  /** One-minute load average at the start, and its lowest, mean and highest over the stretch. */
  loadAverage: { start: number; min: number; mean: number; max: number };
  /** All cores' busy time over the stretch, in % of one core (200 = two cores busy). */
  busyPercent: number | undefined;
}

/**
 * Watches the whole machine over a stretch: the load average every second and the busy time of
 * all cores, so a run can say how much else was running beside it.
 */
export function startMachineWatch(): () => MachineLoad {
  const samples = [loadavg()[0] ?? 0];
  const timer = setInterval(() => samples.push(loadavg()[0] ?? 0), 1000);
  timer.unref();
  const before = machineJiffies();
  return () => {
    clearInterval(timer);
    samples.push(loadavg()[0] ?? 0);
    const after = machineJiffies();
    const busyPercent =
      before === undefined || after === undefined || after.total === before.total
        ? undefined
        : ((after.busy - before.busy) / (after.total - before.total)) * 100 * cpus().length;
    return {
      loadAverage: {
        start: samples[0]!,
        min: Math.min(...samples),
        mean: samples.reduce((sum, value) => sum + value, 0) / samples.length,
        max: Math.max(...samples),
      },
      busyPercent,
    };
  };
}
