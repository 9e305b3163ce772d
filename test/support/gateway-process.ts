import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { platform } from './platform';

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A gateway of a spec's own, in front of the platform's services, run as GATEWAY_WORKERS processes,
 * with its own database and any variables the spec sets.
 */
export function startGateway(
  port: number,
  workers: number,
  environment: Record<string, string> = {},
): { child: ChildProcess; exited: Promise<number | null>; url: string } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('services', 'gateway', 'src', 'main.ts')], {
    cwd: path.resolve(__dirname, '../..'),
    env: {
      ...process.env,
      GATEWAY_PORT: String(port),
      GATEWAY_WORKERS: String(workers),
      MONGO_URL: platform.TEST_MONGO_URL,
      GATEWAY_MONGO_DB: 'lovepoints_test_gateway_own',
      VOLUNTEER_GRPC_ADDRESS: platform.TEST_VOLUNTEER_GRPC_ADDRESS,
      POINTS_GRPC_ADDRESS: platform.TEST_POINTS_GRPC_ADDRESS,
      REDEEM_GRPC_ADDRESS: platform.TEST_REDEEM_GRPC_ADDRESS,
      TIMEBANK_GRPC_ADDRESS: platform.TEST_TIMEBANK_GRPC_ADDRESS,
      BOOTSTRAP_ADMIN_PHONE: platform.TEST_ADMIN_PHONE,
      BOOTSTRAP_ADMIN_PASSWORD: platform.TEST_ADMIN_PASSWORD,
      LOG_LEVEL: 'warn',
      ...environment,
    },
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, url: `http://127.0.0.1:${port}` };
}

export async function ready(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}
