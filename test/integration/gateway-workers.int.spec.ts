import { communityWithOrganizer, eventually, register } from '../support/api';
import { alive, ready, startGateway } from '../support/gateway-process';
import { childPids } from '../support/proc';
import { specPort } from '../support/ports';

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
