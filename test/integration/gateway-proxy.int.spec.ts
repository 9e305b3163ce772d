import { eventually } from '../support/api';
import { ready, startGateway } from '../support/gateway-process';
import { specPort } from '../support/ports';

async function statuses(url: string, forwardedFor: string[]): Promise<number[]> {
  const answers: number[] = [];
  // One after another, so the counts are exact.
  for (const address of forwardedFor) {
    const response = await fetch(`${url}/api/v1/communities`, { headers: { 'x-forwarded-for': address } });
    answers.push(response.status);
  }
  return answers;
}

describe('the per-address limit behind a proxy (TRUST_PROXY)', () => {
  it('counts the client named by a trusted proxy, and ignores the header when no proxy is trusted', async () => {
    const limit = { RATE_LIMIT_IP_PER_MINUTE: '3' };
    const behindProxy = startGateway(specPort(18187), 1, { ...limit, TRUST_PROXY: 'loopback' });
    const direct = startGateway(specPort(18188), 1, limit);
    try {
      for (const gateway of [behindProxy, direct]) await eventually(async () => ((await ready(gateway.url)) ? true : undefined), 60_000, 250);

      // Behind the (loopback) proxy each client has its own count.
      expect(await statuses(behindProxy.url, ['203.0.113.1', '203.0.113.1', '203.0.113.1', '203.0.113.1'])).toEqual([200, 200, 200, 429]);
      expect(await statuses(behindProxy.url, ['203.0.113.2'])).toEqual([200]);

      // Trusting no proxy, a client cannot escape its count by naming other addresses.
      expect(await statuses(direct.url, ['203.0.113.1', '203.0.113.2', '203.0.113.3', '203.0.113.4'])).toEqual([200, 200, 200, 429]);
    } finally {
      behindProxy.child.kill('SIGKILL');
      direct.child.kill('SIGKILL');
    }
  }, 120_000);
});
