import { loadConfig, port } from '@lovepoints/config';
import { createLogger } from '@lovepoints/logging';
import { startPlatform } from './platform';

/**
 * `npm start`: the whole platform on this machine, in the foreground. Ctrl-C (or SIGTERM) stops
 * the services, then the infrastructure, leaving no process behind.
 */
async function main(): Promise<void> {
  const logger = createLogger('platform');
  const config = loadConfig({
    VOLUNTEER_GRPC_PORT: port(50051),
    POINTS_GRPC_PORT: port(50052),
    REDEEM_GRPC_PORT: port(50053),
    TIMEBANK_GRPC_PORT: port(50054),
    GATEWAY_PORT: port(8080),
  });
  const platform = await startPlatform({
    logger,
    persistent: true,
    ports: {
      volunteer: config.VOLUNTEER_GRPC_PORT,
      points: config.POINTS_GRPC_PORT,
      redeem: config.REDEEM_GRPC_PORT,
      timebank: config.TIMEBANK_GRPC_PORT,
      gateway: config.GATEWAY_PORT,
    },
  });
  process.stdout.write(
    [
      '',
      `  Love points platform is up: ${platform.gatewayUrl}`,
      `  API document:  ${platform.gatewayUrl}/api/openapi.json`,
      `  Street admin:  phone ${process.env.BOOTSTRAP_ADMIN_PHONE ?? '13800000000'} (password from BOOTSTRAP_ADMIN_PASSWORD; see README)`,
      '  Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nStopping the platform…\n');
    await platform.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  process.stderr.write(`The platform could not start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
