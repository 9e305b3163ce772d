import { databaseName, loadConfig, port, positiveInteger, sharedServiceShape } from '@lovepoints/config';
import { z } from 'zod';

export function loadVolunteerConfig(environment: NodeJS.ProcessEnv = process.env) {
  return loadConfig(
    {
      ...sharedServiceShape,
      VOLUNTEER_GRPC_PORT: port(50051),
      VOLUNTEER_MONGO_DB: databaseName('lovepoints_volunteer'),
      // Signs check-in codes. The local default is for development only; set a long random
      // value in production.
      CHECKIN_CODE_SECRET: z.string().min(16).default('local-development-checkin-secret'),
      CHECKIN_CODE_TTL_SECONDS: positiveInteger(30),
      CHECKIN_GRACE_MINUTES: z.coerce.number().int().min(0).max(240).default(30),
      ATTENDANCE_MINUTES_STEP: z.coerce.number().int().min(1).max(60).default(5),
      // How long each level (grid, community, street) has to answer a report before it moves up.
      REPORT_RESPONSE_HOURS: z.coerce
        .number()
        .positive()
        .max(24 * 30)
        .default(72),
      REPORT_ESCALATION_INTERVAL_MS: positiveInteger(60_000),
      // Members of one team at most (a large patrol team has about a hundred).
      TEAM_MEMBERS_MAX: z.coerce.number().int().min(2).max(5000).default(500),
    },
    environment,
  );
}

export type VolunteerConfig = ReturnType<typeof loadVolunteerConfig>;
