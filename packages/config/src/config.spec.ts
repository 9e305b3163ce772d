import { z } from 'zod';
import { brokerList, ConfigError, loadConfig, port } from './index';

describe('loadConfig', () => {
  it('applies defaults and coerces numbers', () => {
    const config = loadConfig({ GATEWAY_PORT: port(8080), KAFKA_BROKERS: brokerList('127.0.0.1:9092') }, {});
    expect(config).toEqual({ GATEWAY_PORT: 8080, KAFKA_BROKERS: ['127.0.0.1:9092'] });
  });

  it('lists every bad variable at once', () => {
    const shape = { GATEWAY_PORT: port(8080), JWT_SECRET: z.string().min(32), KAFKA_BROKERS: brokerList('x:1') };
    let caught: unknown;
    try {
      loadConfig(shape, { GATEWAY_PORT: '99999', KAFKA_BROKERS: 'no-port' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const problems = (caught as ConfigError).problems.join('\n');
    expect(problems).toContain('GATEWAY_PORT');
    expect(problems).toContain('JWT_SECRET');
    expect(problems).toContain('KAFKA_BROKERS');
  });
});
