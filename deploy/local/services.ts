import type { Logger } from '@lovepoints/logging';
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import path from 'node:path';

/** The five processes of the platform, in start order (the gateway waits for the others). */
export const serviceNames = ['volunteer', 'points', 'redeem', 'timebank', 'gateway'] as const;
export type ServiceName = (typeof serviceNames)[number];

export interface ServicePorts {
  volunteer: number;
  points: number;
  redeem: number;
  timebank: number;
  gateway: number;
}

export const defaultServicePorts: ServicePorts = { volunteer: 50051, points: 50052, redeem: 50053, timebank: 50054, gateway: 8080 };

const repositoryRoot = path.resolve(__dirname, '../..');

/**
 * Node options per service, the same here as in deploy/k8s and docker-compose. The points
 * service's heap is capped: the ledger's live data is small, and without a cap V8 lets garbage
 * pile up under load (bench:ledger: 365–409 MB resident at the peak uncapped, about 220 MB
 * capped at 192 or 256 MB, for about a quarter more of its CPU per batched transfer spent
 * collecting). A cap also keeps it inside its container's memory limit (512Mi in k8s).
 */
export const serviceNodeOptions: Record<ServiceName, string[]> = {
  volunteer: [],
  points: ['--max-old-space-size=256'],
  redeem: [],
  timebank: [],
  gateway: [],
};

/**
 * The environment that wires the processes to each other and to the infrastructure; each
 * variable is the one the service documents in README.md.
 */
export function serviceEnvironment(infrastructure: { mongoUrl: string; kafkaBrokers: string[] }, ports: ServicePorts): Record<string, string> {
  return {
    MONGO_URL: infrastructure.mongoUrl,
    KAFKA_BROKERS: infrastructure.kafkaBrokers.join(','),
    VOLUNTEER_GRPC_PORT: String(ports.volunteer),
    POINTS_GRPC_PORT: String(ports.points),
    REDEEM_GRPC_PORT: String(ports.redeem),
    TIMEBANK_GRPC_PORT: String(ports.timebank),
    VOLUNTEER_GRPC_ADDRESS: `127.0.0.1:${ports.volunteer}`,
    POINTS_GRPC_ADDRESS: `127.0.0.1:${ports.points}`,
    REDEEM_GRPC_ADDRESS: `127.0.0.1:${ports.redeem}`,
    TIMEBANK_GRPC_ADDRESS: `127.0.0.1:${ports.timebank}`,
    GATEWAY_PORT: String(ports.gateway),
  };
}

export interface RunningServices {
  gatewayUrl: string;
  /** Each service's process id, for benchmarks that watch their CPU. */
  processIds: Partial<Record<ServiceName, number>>;
  /** Stops every process: SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartServicesOptions {
  environment: Record<string, string>;
  gatewayPort: number;
  logger: Logger;
  /** Where each service's log goes (`<dir>/<service>.log`); without it, logs go to this terminal. */
  logDirectory?: string;
  readyTimeoutMs?: number;
  /** Extra Node options for every service (e.g. `--cpu-prof`, which NODE_OPTIONS may not carry). */
  nodeArguments?: string[];
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Starts every service as its own Node process (TypeScript run through tsx) and resolves when
 * the gateway reports ready, which it does only when every gRPC service answers its health check.
 */
export async function startServices(options: StartServicesOptions): Promise<RunningServices> {
  const readyTimeoutMs = options.readyTimeoutMs ?? 90_000;
  const children = new Map<ServiceName, ChildProcess>();
  const logFiles = new Map<ServiceName, string>();
  let stopping = false;
  let failure: string | undefined;

  for (const name of serviceNames) {
    const nodeArguments = [...serviceNodeOptions[name], ...(options.nodeArguments ?? [])];
    const child = spawn(process.execPath, [...nodeArguments, '--import', 'tsx', path.join('services', name, 'src', 'main.ts')], {
      cwd: repositoryRoot,
      env: { ...process.env, ...options.environment },
      stdio: options.logDirectory ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'inherit', 'inherit'],
    });
    if (options.logDirectory) {
      const file = path.join(options.logDirectory, `${name}.log`);
      const stream = createWriteStream(file, { flags: 'a' });
      child.stdout?.pipe(stream);
      child.stderr?.pipe(stream);
      logFiles.set(name, file);
    }
    child.once('exit', (code, signal) => {
      if (stopping) return;
      failure = `${name} exited (code ${code}, signal ${signal})`;
      options.logger.error({ service: name, code, signal }, 'service exited unexpectedly');
    });
    children.set(name, child);
  }

  async function stop(graceMs = 10_000): Promise<void> {
    stopping = true;
    const running = [...children.values()];
    for (const child of running) child.kill('SIGTERM');
    const exited = await Promise.all(running.map((child) => waitForExit(child, graceMs)));
    running.forEach((child, index) => {
      if (!exited[index]) child.kill('SIGKILL');
    });
  }

  const gatewayUrl = `http://127.0.0.1:${options.gatewayPort}`;
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (failure !== undefined) {
      const name = failure.split(' ')[0] as ServiceName;
      const log = logFiles.get(name);
      await stop(2000);
      throw new Error(`${failure}${log ? `\n--- ${log} ---\n${tail(log)}` : ''}`);
    }
    try {
      const response = await fetch(`${gatewayUrl}/readyz`, { signal: AbortSignal.timeout(2000) });
      if (response.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop(2000);
      const logs = [...logFiles].map(([name, file]) => `--- ${name} ---\n${tail(file, 10)}`).join('\n');
      throw new Error(`The platform was not ready within ${readyTimeoutMs} ms.\n${logs}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  options.logger.info({ gatewayUrl }, 'platform ready');
  const processIds = Object.fromEntries([...children].map(([name, child]) => [name, child.pid])) as Partial<Record<ServiceName, number>>;
  return { gatewayUrl, processIds, stop };
}
