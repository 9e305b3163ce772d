import { createLogger } from '@lovepoints/logging';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Platform } from '../deploy/local/platform';
import { platformVariables, testPortOffset } from './support/ports';

declare global {
  var lovepointsTestPlatform: Platform | undefined;
}

/**
 * Starts the platform once for the whole integration run, on ports apart from `npm start`'s so
 * both can run side by side, with data thrown away afterwards. Set TEST_GATEWAY_URL (and the
 * other TEST_* variables of test/support/platform.ts) to test a platform that already runs.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.TEST_GATEWAY_URL) return;
  // Loaded only when this run starts its own platform.
  const { startPlatform } = await import('../deploy/local/platform');
  const logDirectory = mkdtempSync(path.join(tmpdir(), 'lovepoints-test-logs-'));
  const adminPhone = '13800000000';
  const adminPassword = 'test-admin-password';
  // TEST_PORT_OFFSET shifts every port, so two checkouts can run their suites side by side. All of
  // them lie below Linux's ephemeral range (32768–60999): a port inside it can be taken by any
  // outgoing connection's socket before a service binds it (it once failed CI with EADDRINUSE).
  const offset = testPortOffset();
  const ports = { volunteer: 21151 + offset, points: 21152 + offset, redeem: 21153 + offset, timebank: 21154 + offset, gateway: 18180 + offset };
  const platform = await startPlatform({
    logger: createLogger('test-platform', 'warn'),
    persistent: false,
    ports,
    infrastructure: { kafkaPort: 19092 + offset, kafkaControllerPort: 19093 + offset, mongoPort: 17017 + offset },
    logDirectory,
    environment: {
      LOG_LEVEL: 'info',
      // Recovery also voids expired holds; every second keeps hold-expiry specs short.
      LEDGER_RECOVERY_INTERVAL_MS: '1000',
      // Check-in codes live 3 to 6 seconds, so the expired-code spec waits seconds, not minutes.
      CHECKIN_CODE_TTL_SECONDS: '6',
      BOOTSTRAP_ADMIN_PHONE: adminPhone,
      BOOTSTRAP_ADMIN_PASSWORD: adminPassword,
      VOLUNTEER_MONGO_DB: 'lovepoints_test_volunteer',
      POINTS_MONGO_DB: 'lovepoints_test_points',
      REDEEM_MONGO_DB: 'lovepoints_test_redeem',
      TIMEBANK_MONGO_DB: 'lovepoints_test_timebank',
      GATEWAY_MONGO_DB: 'lovepoints_test_gateway',
      // The whole suite signs in from 127.0.0.1; per-address and per-user limits are unit-tested.
      RATE_LIMIT_IP_PER_MINUTE: '1000000',
      RATE_LIMIT_USER_PER_MINUTE: '1000000',
      // Lockout lasts seconds here, so the brute-force spec can also see it end.
      LOGIN_LOCK_SECONDS: '3',
    },
  });
  globalThis.lovepointsTestPlatform = platform;
  process.stdout.write(`\nplatform under test: ${platform.gatewayUrl} (service logs in ${logDirectory})\n`);
  Object.assign(process.env, platformVariables(platform, ports, { phone: adminPhone, password: adminPassword }));
}
