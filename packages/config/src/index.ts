import { z } from 'zod';

/** Thrown at boot when environment variables are missing or malformed; lists every bad one. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses the environment once into a typed object. Keys of the schema are the variable names,
 * so an error message names exactly the variable to fix.
 */
export function loadConfig<Shape extends z.ZodRawShape>(shape: Shape, environment: NodeJS.ProcessEnv = process.env): z.output<z.ZodObject<Shape>> {
  const result = z.object(shape).safeParse(environment);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  return result.data;
}

/** A TCP port number with a default. */
export function port(defaultPort: number) {
  return z.coerce.number().int().min(1).max(65535).default(defaultPort);
}

/** A positive integer (a limit, a timeout in ms, a size) with a default. */
export function positiveInteger(defaultValue: number) {
  return z.coerce.number().int().positive().default(defaultValue);
}

/** `host:port` of a gRPC server with a default. */
export function grpcAddress(defaultAddress: string) {
  return z
    .string()
    .regex(/^[\w.-]+:\d+$/, 'expected host:port')
    .default(defaultAddress);
}

/** A comma-separated list of Kafka brokers, e.g. `127.0.0.1:9092,127.0.0.1:9094`. */
export function brokerList(defaultBrokers: string) {
  return z
    .string()
    .default(defaultBrokers)
    .transform((value) =>
      value
        .split(',')
        .map((broker) => broker.trim())
        .filter((broker) => broker !== ''),
    )
    .pipe(z.array(z.string().regex(/^[\w.-]+:\d+$/, 'expected host:port')).min(1));
}

export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info');

/**
 * Settings every backend service shares. Each service adds its own port and database name
 * (`POINTS_GRPC_PORT`, `POINTS_MONGO_DB`, ...) so one environment can configure all of them.
 */
export const sharedServiceShape = {
  MONGO_URL: z.string().startsWith('mongodb://').default('mongodb://127.0.0.1:27017'),
  KAFKA_BROKERS: brokerList('127.0.0.1:9092'),
  GRPC_HOST: z.string().default('127.0.0.1'),
  GRPC_DEADLINE_MS: positiveInteger(5000),
  LOG_LEVEL: logLevel,
} as const;

/** A MongoDB database name. */
export function databaseName(defaultName: string) {
  return z
    .string()
    .regex(/^[\w-]+$/, 'letters, digits, _ and - only')
    .default(defaultName);
}
