import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { communityWithOrganizer, eventually, register } from '../support/api';
import { platform } from '../support/platform';
import { specPort } from '../support/ports';

/** Live processes whose parent is `pid`. */
function childPids(pid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return parent === pid ? [Number(entry)] : [];
      } catch {
        return [];
      }
    });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A gateway of this spec's own, in front of the platform's services, run as GATEWAY_WORKERS processes. */
function startGateway(
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
      GATEWAY_MONGO_DB: 'lovepoints_test_gateway_workers',
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

async function ready(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

describe('the gateway as several processes on one port (GATEWAY_WORKERS)', () => {
  it('answers from every worker, replaces one that dies, and stops them all on SIGTERM', async () => {
    const gateway = startGateway(specPort(18185), 2);
    try {
      await eventually(async () => ((await ready(gateway.url)) ? true : undefined), 60_000, 250);
      const workers = childPids(gateway.child.pid!);
      expect(workers).toHaveLength(2);

      // A token from the platform's gateway works here: same key, no per-process state.
      const { communityId } = await communityWithOrganizer();
      const member = await register(communityId, '多进程网关居民');
      const reads = await Promise.all(
        Array.from({ length: 20 }, () =>
          fetch(`${gateway.url}/api/v1/points/balance`, { headers: { authorization: `Bearer ${member.token}`, connection: 'close' } }),
        ),
      );
      expect(reads.map((response) => response.status)).toEqual(Array(20).fill(200));
      expect(await reads[0]!.json()).toMatchObject({ points: 0, timeMinutes: 0 });

      // A worker killed outright is replaced; the port keeps answering meanwhile.
      process.kill(workers[0]!, 'SIGKILL');
      const replaced = await eventually(
        async () => {
          const now = childPids(gateway.child.pid!);
          return now.length === 2 && !now.includes(workers[0]!) ? now : undefined;
        },
        60_000,
        250,
      );
      await eventually(async () => ((await ready(gateway.url)) ? true : undefined), 60_000, 250);

      gateway.child.kill('SIGTERM');
      expect(await gateway.exited).toBe(0);
      expect(replaced.filter(alive)).toEqual([]);
    } finally {
      gateway.child.kill('SIGKILL');
    }
  }, 120_000);

  it.each([1, 2])(
    'fails as a whole (exit 1) when it cannot listen, leaving no process behind (%i worker(s))',
    async (workers) => {
      // An address of no interface here (TEST-NET-1), so nothing can listen on it.
      const gateway = startGateway(specPort(18186), workers, { GATEWAY_HOST: '192.0.2.1' });
      const seen = new Set<number>();
      const watch = setInterval(() => childPids(gateway.child.pid!).forEach((pid) => seen.add(pid)), 20);
      try {
        expect(await gateway.exited).toBe(1);
        clearInterval(watch);
        if (workers === 1) expect(seen.size).toBe(0);
        else expect(seen.size).toBeGreaterThan(0);
        expect([...seen].filter(alive)).toEqual([]);
      } finally {
        clearInterval(watch);
        gateway.child.kill('SIGKILL');
      }
    },
    60_000,
  );
});
