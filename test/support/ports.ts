/**
 * TEST_PORT_OFFSET (default 0, a multiple of 10 below 1000) moves every port the integration run
 * opens, so two checkouts on one machine can run their suites at the same time.
 */
export function testPortOffset(): number {
  const raw = process.env.TEST_PORT_OFFSET ?? '0';
  const offset = Number(raw);
  if (!Number.isInteger(offset) || offset < 0 || offset >= 1000 || offset % 10 !== 0) {
    throw new Error(`TEST_PORT_OFFSET must be a multiple of 10 from 0 to 990, got ${JSON.stringify(raw)}`);
  }
  return offset;
}

/** A port of a spec's own process (e.g. a points service it kills), moved by TEST_PORT_OFFSET. */
export const specPort = (base: number): number => base + testPortOffset();

/**
 * The TEST_* variables (read by ./platform.ts) that point the helpers of test/support at a
 * running platform; globalSetup exports them, and so do benchmarks that reuse the helpers.
 */
export function platformVariables(
  platform: { gatewayUrl: string; kafkaBrokers: string[]; mongoUrl: string },
  grpcPorts: { volunteer: number; points: number; redeem: number; timebank: number },
  admin: { phone: string; password: string },
): Record<string, string> {
  return {
    TEST_GATEWAY_URL: platform.gatewayUrl,
    TEST_KAFKA_BROKERS: platform.kafkaBrokers.join(','),
    TEST_MONGO_URL: platform.mongoUrl,
    TEST_VOLUNTEER_GRPC_ADDRESS: `127.0.0.1:${grpcPorts.volunteer}`,
    TEST_POINTS_GRPC_ADDRESS: `127.0.0.1:${grpcPorts.points}`,
    TEST_TIMEBANK_GRPC_ADDRESS: `127.0.0.1:${grpcPorts.timebank}`,
    TEST_REDEEM_GRPC_ADDRESS: `127.0.0.1:${grpcPorts.redeem}`,
    TEST_ADMIN_PHONE: admin.phone,
    TEST_ADMIN_PASSWORD: admin.password,
  };
}
