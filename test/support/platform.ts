import { z } from 'zod';

/**
 * Where the platform under test is. globalSetup starts it and exports these variables; set
 * them yourself to run the integration specs against a platform that is already running.
 */
export const platform = z
  .object({
    TEST_GATEWAY_URL: z.url(),
    TEST_KAFKA_BROKERS: z.string().transform((value) => value.split(',')),
    TEST_MONGO_URL: z.string(),
    TEST_VOLUNTEER_GRPC_ADDRESS: z.string(),
    TEST_POINTS_GRPC_ADDRESS: z.string(),
    TEST_TIMEBANK_GRPC_ADDRESS: z.string(),
    TEST_REDEEM_GRPC_ADDRESS: z.string(),
    TEST_POINTS_MONGO_DB: z.string().default('lovepoints_test_points'),
    TEST_VOLUNTEER_MONGO_DB: z.string().default('lovepoints_test_volunteer'),
    TEST_TIMEBANK_MONGO_DB: z.string().default('lovepoints_test_timebank'),
    TEST_REDEEM_MONGO_DB: z.string().default('lovepoints_test_redeem'),
    TEST_ADMIN_PHONE: z.string(),
    TEST_ADMIN_PASSWORD: z.string(),
  })
  .parse(process.env);
