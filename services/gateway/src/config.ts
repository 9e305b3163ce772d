import { databaseName, grpcAddress, loadConfig, logLevel, port, positiveInteger, sharedServiceShape } from '@lovepoints/config';
import { isIP } from 'node:net';
import { z } from 'zod';

const localJwtSecret = 'local-development-jwt-secret-change-me-0123456789';

/**
 * TRUST_PROXY as express's `trust proxy` setting: off when empty, a number of hops, or a list of
 * addresses, subnets and keywords (`loopback`, `linklocal`, `uniquelocal`).
 */
export function trustedProxies(value: string): false | number | string[] {
  const trimmed = value.trim();
  if (trimmed === '' || trimmed === 'false') return false;
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  return trimmed
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

function isProxyEntry(entry: string): boolean {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) return true;
  const [address = '', bits, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  return bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
}

export function loadGatewayConfig(environment: NodeJS.ProcessEnv = process.env) {
  const config = loadConfig(
    {
      NODE_ENV: z.string().default('development'),
      GATEWAY_HOST: z.string().default('127.0.0.1'),
      GATEWAY_PORT: port(8080),
      GATEWAY_WORKERS: positiveInteger(1),
      VOLUNTEER_GRPC_ADDRESS: grpcAddress('127.0.0.1:50051'),
      POINTS_GRPC_ADDRESS: grpcAddress('127.0.0.1:50052'),
      REDEEM_GRPC_ADDRESS: grpcAddress('127.0.0.1:50053'),
      TIMEBANK_GRPC_ADDRESS: grpcAddress('127.0.0.1:50054'),
      GRPC_DEADLINE_MS: positiveInteger(5000),
      JWT_SECRET: z.string().min(32, 'at least 32 characters').default(localJwtSecret),
      JWT_ISSUER: z.string().min(1).default('lovepoints'),
      JWT_AUDIENCE: z.string().min(1).default('lovepoints-portal'),
      ACCESS_TOKEN_TTL_SECONDS: positiveInteger(900),
      REFRESH_TOKEN_TTL_SECONDS: positiveInteger(30 * 24 * 3600),
      BOOTSTRAP_ADMIN_PHONE: z
        .string()
        .regex(/^1\d{10}$/, 'an 11-digit mobile number')
        .default('13800000000'),
      BOOTSTRAP_ADMIN_PASSWORD: z.string().min(8, 'at least 8 characters').default('ChangeMe-2026'),
      BOOTSTRAP_ADMIN_NAME: z.string().min(1).default('街道管理员'),
      BOOTSTRAP_ADMIN_STREET: z.string().min(1).default('示范街道'),
      REQUEST_BODY_LIMIT: z
        .string()
        .regex(/^\d+(b|kb|mb)$/)
        .default('100kb'),
      MONGO_URL: sharedServiceShape.MONGO_URL,
      GATEWAY_MONGO_DB: databaseName('lovepoints_gateway'),
      LOGIN_MAX_FAILURES: positiveInteger(5),
      LOGIN_FAILURE_WINDOW_SECONDS: positiveInteger(15 * 60),
      LOGIN_LOCK_SECONDS: positiveInteger(15 * 60),
      RATE_LIMIT_USER_PER_MINUTE: positiveInteger(600),
      RATE_LIMIT_IP_PER_MINUTE: positiveInteger(1200),
      TRUST_PROXY: z
        .string()
        .default('')
        .refine((value) => {
          const proxies = trustedProxies(value);
          return !Array.isArray(proxies) || proxies.every(isProxyEntry);
        }, 'a hop count, or comma-separated addresses, subnets (address/bits) and keywords loopback, linklocal, uniquelocal')
        .transform(trustedProxies),
      CORS_ORIGINS: z
        .string()
        .default('http://localhost:3000,http://127.0.0.1:3000')
        .transform((value) =>
          value
            .split(',')
            .map((origin) => origin.trim())
            .filter((origin) => origin !== ''),
        ),
      LOG_LEVEL: logLevel,
    },
    environment,
  );
  // The local defaults are public; refusing them in production keeps a forgotten variable from
  // becoming a forgeable token or a known admin password.
  if (config.NODE_ENV === 'production' && (config.JWT_SECRET === localJwtSecret || config.BOOTSTRAP_ADMIN_PASSWORD === 'ChangeMe-2026')) {
    throw new Error('Set JWT_SECRET and BOOTSTRAP_ADMIN_PASSWORD in production; the local defaults are public.');
  }
  return config;
}

export type GatewayConfig = ReturnType<typeof loadGatewayConfig>;
