import { callUnary, createClients } from '@lovepoints/grpc';
import { runMain } from '@lovepoints/lifecycle';
import { createLogger, type Logger } from '@lovepoints/logging';
import { connectMongo, pingMongo } from '@lovepoints/mongo';
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { createGatewayApp } from './app';
import { AuditLog } from './audit/audit-log';
import { LoginGuard, RefreshSessions } from './auth/sessions';
import { IdempotencyStore } from './http/idempotency';
import { WindowLimiter } from './http/rate-limit';
import { gatewayModels } from './store/gateway.store';
import { loadGatewayConfig, type GatewayConfig } from './config';
import { runWorkers, stopWhenPrimaryLeaves } from './workers';

/** Ensures the street admin exists, retrying while the volunteer service starts. */
async function bootstrapAdmin(config: GatewayConfig, clients: ReturnType<typeof createClients>, logger: Logger): Promise<void> {
  const request = {
    phone: config.BOOTSTRAP_ADMIN_PHONE,
    password: config.BOOTSTRAP_ADMIN_PASSWORD,
    name: config.BOOTSTRAP_ADMIN_NAME,
    street: config.BOOTSTRAP_ADMIN_STREET,
  };
  for (let attempt = 1; ; attempt += 1) {
    try {
      const admin = await callUnary(clients.volunteer, 'ensureStreetAdmin', request, { deadlineMs: config.GRPC_DEADLINE_MS });
      logger.info({ userId: admin.id, street: admin.street }, 'street admin ready');
      return;
    } catch (error) {
      if (attempt >= 60) throw error;
      logger.warn({ err: error, attempt }, 'volunteer service not ready for bootstrap; retrying');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/** GATEWAY_WORKERS > 1 runs that many gateway processes on the port; an invalid configuration starts one, which reports it. */
function workerSettings(): { workers: number; logLevel?: string } {
  try {
    const config = loadGatewayConfig();
    return { workers: config.GATEWAY_WORKERS, logLevel: config.LOG_LEVEL };
  } catch {
    return { workers: 1 };
  }
}

const settings = workerSettings();
if (cluster.isPrimary && settings.workers > 1) runWorkers(settings.workers, createLogger('gateway', settings.logLevel));
else runGateway();

function runGateway(): void {
  stopWhenPrimaryLeaves();
  runMain('gateway', startGateway);
}

async function startGateway() {
  const config = loadGatewayConfig();
  const logger = createLogger('gateway', config.LOG_LEVEL);
  const addresses = {
    volunteer: config.VOLUNTEER_GRPC_ADDRESS,
    points: config.POINTS_GRPC_ADDRESS,
    redeem: config.REDEEM_GRPC_ADDRESS,
    timebank: config.TIMEBANK_GRPC_ADDRESS,
  };
  const clients = createClients(addresses);
  const connection = await connectMongo({ url: config.MONGO_URL, databaseName: config.GATEWAY_MONGO_DB, logger });
  const models = gatewayModels(connection);
  await Promise.all(Object.values(models).map((model) => model.init()));
  await bootstrapAdmin(config, clients, logger);
  const tokens = {
    secret: config.JWT_SECRET,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    accessTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
    refreshTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
  };
  const minute = 60_000;
  const app = createGatewayApp({
    context: {
      clients,
      deadlineMs: config.GRPC_DEADLINE_MS,
      logger,
      tokens,
      sessions: new RefreshSessions(models, tokens, logger),
      loginGuard: new LoginGuard(models, {
        maxFailures: config.LOGIN_MAX_FAILURES,
        windowMs: config.LOGIN_FAILURE_WINDOW_SECONDS * 1000,
        lockMs: config.LOGIN_LOCK_SECONDS * 1000,
      }),
      idempotency: new IdempotencyStore(models),
      userLimiter: new WindowLimiter(config.RATE_LIMIT_USER_PER_MINUTE, minute),
      audit: new AuditLog(models, logger),
    },
    bodyLimit: config.REQUEST_BODY_LIMIT,
    dependencies: addresses,
    databaseReachable: () => pingMongo(connection),
    ipLimiter: new WindowLimiter(config.RATE_LIMIT_IP_PER_MINUTE, minute),
    corsOrigins: config.CORS_ORIGINS,
    trustProxy: config.TRUST_PROXY,
  });
  // Not app.listen: Express 5 calls its callback on a failed listen too, which read as "ready".
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.GATEWAY_PORT, config.GATEWAY_HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  logger.info({ url: `http://${config.GATEWAY_HOST}:${config.GATEWAY_PORT}` }, 'gateway ready');
  return {
    logger,
    stopSteps: [
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          // Idle keep-alive connections would hold the close open until they time out.
          server.closeIdleConnections();
        }),
      () => Object.values(clients).forEach((client) => client.close()),
      () => connection.close(),
    ],
  };
}
