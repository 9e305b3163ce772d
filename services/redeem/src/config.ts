import { databaseName, loadConfig, port, positiveInteger, sharedServiceShape } from '@lovepoints/config';
import { z } from 'zod';

export function loadRedeemConfig(environment: NodeJS.ProcessEnv = process.env) {
  return loadConfig(
    {
      ...sharedServiceShape,
      REDEEM_GRPC_PORT: port(50053),
      REDEEM_MONGO_DB: databaseName('lovepoints_redeem'),
      POINTS_GRPC_ADDRESS: z
        .string()
        .regex(/^[\w.-]+:\d+$/, 'expected host:port')
        .default('127.0.0.1:50052'),
      // How long a resident has to pick an order up before it expires (48 h).
      REDEEM_PICKUP_DEADLINE_MS: positiveInteger(48 * 3600_000),
      // The ledger hold outlives the pickup deadline by this much, so a pickup at the last
      // minute still finds its hold; an order nobody expires is voided by the ledger after it.
      REDEEM_HOLD_MARGIN_MS: positiveInteger(3600_000),
      // How long an order step may take before recovery completes or undoes it.
      REDEEM_LEASE_MS: positiveInteger(15_000),
      // How often recovery and expiry run.
      REDEEM_RECOVERY_INTERVAL_MS: positiveInteger(5_000),
      // Wrong pickup codes a shop may submit per window before it gets 429.
      REDEEM_PICKUP_FAILURES_MAX: positiveInteger(10),
      REDEEM_PICKUP_FAILURE_WINDOW_SECONDS: positiveInteger(600),
      // Signs residents' member codes for counter sales. The local default is for development
      // only; set a long random value in production.
      REDEEM_CODE_SECRET: z.string().min(16).default('local-development-redeem-secret'),
      REDEEM_MEMBER_CODE_TTL_SECONDS: positiveInteger(120),
      // Per-person limit periods (day, week, month) are counted in this offset from UTC (China: +480).
      REDEEM_TIME_ZONE_OFFSET_MINUTES: z.coerce.number().int().min(-720).max(840).default(480),
    },
    environment,
  );
}

export type RedeemConfig = ReturnType<typeof loadRedeemConfig>;
