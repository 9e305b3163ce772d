import { createLogger } from '@lovepoints/logging';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { infrastructureOptionsFromEnv } from '../../deploy/local/infra';
import { type Platform, startPlatform } from '../../deploy/local/platform';
import { platformVariables } from '../../test/support/ports';
import { recordedPid } from './processes';

/** Every port a benchmark's own platform opens, apart from the tests', `npm start`'s and the other benchmarks'. */
export interface BenchPlatformPorts {
  gateway: number;
  volunteer: number;
  points: number;
  redeem: number;
  timebank: number;
  kafka: number;
  kafkaController: number;
  mongo: number;
}

export interface BenchPlatform {
  platform: Platform;
  logDirectory: string;
  /** Process ids of the services and the infrastructure, for CPU accounting. */
  processIds: Record<string, number | undefined>;
}

/**
 * The whole platform for a benchmark, with throw-away data, logs in a temporary folder, the
 * production log level and rate limits out of the way (the load comes from one address). It
 * also exports the TEST_* variables, so the helpers of test/support (imported after this) talk
 * to it. `environment` adds or overrides services' variables.
 */
export async function startBenchPlatform(name: string, ports: BenchPlatformPorts, environment: Record<string, string> = {}): Promise<BenchPlatform> {
  const logDirectory = mkdtempSync(path.join(tmpdir(), `lovepoints-bench-${name}-`));
  const adminPhone = '13800000000';
  const adminPassword = `bench-${name}-admin-password`;
  const database = (service: string) => `lovepoints_bench_${name}_${service}`;
  const infrastructure = { kafkaPort: ports.kafka, kafkaControllerPort: ports.kafkaController, mongoPort: ports.mongo };
  const platform = await startPlatform({
    logger: createLogger(`bench-${name}`, 'warn'),
    persistent: false,
    ports: { volunteer: ports.volunteer, points: ports.points, redeem: ports.redeem, timebank: ports.timebank, gateway: ports.gateway },
    infrastructure,
    logDirectory,
    environment: {
      LOG_LEVEL: 'info',
      BOOTSTRAP_ADMIN_PHONE: adminPhone,
      BOOTSTRAP_ADMIN_PASSWORD: adminPassword,
      VOLUNTEER_MONGO_DB: database('volunteer'),
      POINTS_MONGO_DB: database('points'),
      REDEEM_MONGO_DB: database('redeem'),
      TIMEBANK_MONGO_DB: database('timebank'),
      GATEWAY_MONGO_DB: database('gateway'),
      RATE_LIMIT_IP_PER_MINUTE: '1000000000',
      RATE_LIMIT_USER_PER_MINUTE: '1000000000',
      ...environment,
    },
    // BENCH_CPU_PROFILE=<folder>: every service writes a V8 CPU profile there when it stops.
    ...(process.env.BENCH_CPU_PROFILE ? { nodeArguments: ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_CPU_PROFILE)}`] } : {}),
  });
  Object.assign(process.env, platformVariables(platform, ports, { phone: adminPhone, password: adminPassword }));
  const { stateDir } = infrastructureOptionsFromEnv(infrastructure);
  return {
    platform,
    logDirectory,
    processIds: {
      ...platform.processIds,
      mongo: recordedPid(stateDir, 'mongo', ports.mongo),
      kafka: recordedPid(stateDir, 'kafka', ports.kafka),
    },
  };
}
