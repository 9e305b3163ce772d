import { callUnary, createClients } from '@lovepoints/grpc';
import { runMain } from '@lovepoints/lifecycle';
import { createLogger, type Logger } from '@lovepoints/logging';
import type { Server } from 'node:http';
import { createGatewayApp } from './app';
import { loadGatewayConfig, type GatewayConfig } from './config';

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

runMain('gateway', async () => {
  const config = loadGatewayConfig();
  const logger = createLogger('gateway', config.LOG_LEVEL);
  const addresses = {
    volunteer: config.VOLUNTEER_GRPC_ADDRESS,
    points: config.POINTS_GRPC_ADDRESS,
    redeem: config.REDEEM_GRPC_ADDRESS,
    timebank: config.TIMEBANK_GRPC_ADDRESS,
  };
  const clients = createClients(addresses);
  await bootstrapAdmin(config, clients, logger);
  const app = createGatewayApp({
    context: {
      clients,
      deadlineMs: config.GRPC_DEADLINE_MS,
      logger,
      tokens: {
        secret: config.JWT_SECRET,
        issuer: config.JWT_ISSUER,
        audience: config.JWT_AUDIENCE,
        accessTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
        refreshTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
      },
    },
    bodyLimit: config.REQUEST_BODY_LIMIT,
    dependencies: addresses,
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const listening = app.listen(config.GATEWAY_PORT, config.GATEWAY_HOST, () => resolve(listening)).on('error', reject);
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
    ],
  };
});
