import { checkHealth } from '@lovepoints/grpc';
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { eventually } from './api';
import { platform } from './platform';

/**
 * A points service process of a spec's own (its own port and database), for specs that kill it
 * or run it beside the platform's. Consumers are off unless a consumer group is given.
 */
export class PointsProcess {
  private child: ChildProcess | undefined;
  readonly address: string;

  constructor(
    private readonly port: number,
    private readonly databaseName: string,
    private readonly environment: Record<string, string> = {},
  ) {
    this.address = `127.0.0.1:${port}`;
  }

  async start(): Promise<void> {
    this.child = spawn(process.execPath, ['--import', 'tsx', path.join('services', 'points', 'src', 'main.ts')], {
      cwd: path.resolve(__dirname, '../..'),
      env: {
        ...process.env,
        MONGO_URL: platform.TEST_MONGO_URL,
        KAFKA_BROKERS: platform.TEST_KAFKA_BROKERS.join(','),
        POINTS_GRPC_PORT: String(this.port),
        POINTS_MONGO_DB: this.databaseName,
        POINTS_CONSUMERS_ENABLED: 'false',
        LOG_LEVEL: 'warn',
        ...this.environment,
      },
      stdio: 'ignore',
    });
    await eventually(async () => ((await checkHealth(this.address, 500)) ? true : undefined), 30_000, 100);
  }

  /** SIGKILL: no stop steps, no flushing; whatever was half-written stays half-written. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}
