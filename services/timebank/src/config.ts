import { databaseName, grpcAddress, loadConfig, port, positiveInteger, sharedServiceShape } from '@lovepoints/config';
import { z } from 'zod';

export function loadTimebankConfig(environment: NodeJS.ProcessEnv = process.env) {
  return loadConfig(
    {
      ...sharedServiceShape,
      TIMEBANK_GRPC_PORT: port(50054),
      TIMEBANK_MONGO_DB: databaseName('lovepoints_timebank'),
      VOLUNTEER_GRPC_ADDRESS: grpcAddress('127.0.0.1:50051'),
      POINTS_GRPC_ADDRESS: grpcAddress('127.0.0.1:50052'),
      // How long an order may wait for a volunteer at each level (grid, community, street).
      TIMEBANK_ACCEPT_WINDOW_MINUTES: positiveInteger(24 * 60),
      // An accepted order not started this long after its start time is reopened.
      TIMEBANK_START_GRACE_MINUTES: positiveInteger(30),
      // Orders start at most this many days ahead, so their holds outlive them (see hold timeout).
      TIMEBANK_START_HORIZON_DAYS: z.coerce.number().int().min(1).max(25).default(14),
      // Lifetime of the ledger holds of an order; at most the ledger's LEDGER_HOLD_TIMEOUT_MS_MAX.
      TIMEBANK_HOLD_TIMEOUT_MS: positiveInteger(30 * 24 * 3600 * 1000),
      // A volunteer may record up to this many times the estimate; more needs an organizer.
      TIMEBANK_OVERRUN_FACTOR: z.coerce.number().int().min(1).max(10).default(2),
      // Residents at or above this age are paid for by the community pool (or when flagged).
      TIMEBANK_POOL_MIN_AGE: z.coerce.number().int().min(0).max(150).default(70),
      // How often overdue orders are escalated or reopened.
      TIMEBANK_SWEEP_INTERVAL_MS: positiveInteger(60_000),
      // A half-done step (hold, payment, release) is finished by recovery after this lease.
      TIMEBANK_LEASE_MS: positiveInteger(30_000),
      TIMEBANK_RECOVERY_INTERVAL_MS: positiveInteger(5_000),
    },
    environment,
  );
}

export type TimebankConfig = ReturnType<typeof loadTimebankConfig>;
