import { loadGatewayConfig } from './config';

function trustProxy(value: string | undefined) {
  return loadGatewayConfig(value === undefined ? {} : { TRUST_PROXY: value }).TRUST_PROXY;
}

function refusal(value: string): string {
  try {
    loadGatewayConfig({ TRUST_PROXY: value });
    return 'accepted';
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

describe('gateway configuration: TRUST_PROXY', () => {
  it('trusts no proxy unless told, then a hop count or a list of addresses, subnets and keywords', () => {
    expect(trustProxy(undefined)).toBe(false);
    expect(trustProxy('')).toBe(false);
    expect(trustProxy('1')).toBe(1);
    expect(trustProxy('loopback, 10.0.0.0/8,fd00::/8 ,192.0.2.7')).toEqual(['loopback', '10.0.0.0/8', 'fd00::/8', '192.0.2.7']);
  });

  it('refuses what is neither, naming the variable', () => {
    for (const value of ['everyone', '10.0.0.0/33', '300.1.1.1', 'loopback,*', '10.0.0.0/8/1']) {
      expect(refusal(value)).toContain('TRUST_PROXY');
    }
  });
});
