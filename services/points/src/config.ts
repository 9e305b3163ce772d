import { databaseName, loadConfig, port, positiveInteger, sharedServiceShape } from '@lovepoints/config';
import { z } from 'zod';

export function loadPointsConfig(environment: NodeJS.ProcessEnv = process.env) {
  return loadConfig(
    {
      ...sharedServiceShape,
      POINTS_GRPC_PORT: port(50052),
      POINTS_MONGO_DB: databaseName('lovepoints_points'),
      // Consumers can be switched off for processes that only serve the ledger (benchmarks).
      POINTS_CONSUMERS_ENABLED: z.enum(['true', 'false']).default('true'),
      POINTS_ATTENDANCE_CONSUMER_GROUP: z.string().min(1).default('points.attendance-credit'),
      POINTS_REPORT_CONSUMER_GROUP: z.string().min(1).default('points.report-credit'),
      // How long a half-applied transfer waits before recovery completes it.
      LEDGER_LEASE_MS: positiveInteger(10_000),
      // How often recovery runs; it also voids expired holds.
      LEDGER_RECOVERY_INTERVAL_MS: positiveInteger(5_000),
      // How often recovery also removes phase markers a dead process left on accounts (harmless
      // meanwhile; locally the search scans every account).
      LEDGER_MARKER_SWEEP_INTERVAL_MS: positiveInteger(60_000),
      // How often communities with points expiry are swept (an expiry happens once per month).
      LEDGER_EXPIRY_INTERVAL_MS: positiveInteger(3600_000),
      // How often the outbox relay also searches for events no write handed it (after a crash,
      // a failed publish, or from another process); locally that search scans every transfer.
      POINTS_OUTBOX_SCAN_INTERVAL_MS: positiveInteger(30_000),
      LEDGER_BATCH_SIZE_MAX: positiveInteger(1000),
      LEDGER_BATCH_CONCURRENCY: positiveInteger(256),
      LEDGER_HOLD_TIMEOUT_MS_MIN: positiveInteger(1000),
      LEDGER_HOLD_TIMEOUT_MS_MAX: positiveInteger(30 * 24 * 3600 * 1000),
      // Days, months and leaderboard periods are counted in this offset from UTC (China: +480).
      LEDGER_TIME_ZONE_OFFSET_MINUTES: z.coerce.number().int().min(-720).max(840).default(480),
    },
    environment,
  );
}

export type PointsConfig = ReturnType<typeof loadPointsConfig>;
