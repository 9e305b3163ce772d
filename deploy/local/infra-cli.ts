import { infrastructureOptionsFromEnv, startInfrastructure, stopInfrastructure } from './infra';

/**
 * `npm run infra:start` runs only Kafka and the MongoDB-protocol server in the foreground (for
 * running services by hand); `npm run infra:stop` stops any that a crashed run left behind.
 */
async function main(command: string | undefined): Promise<void> {
  const options = infrastructureOptionsFromEnv();
  if (command === 'stop') {
    await stopInfrastructure(options.stateDir);
    return;
  }
  if (command !== 'start') throw new Error('usage: infra-cli.ts start|stop');
  const infrastructure = await startInfrastructure(options);
  process.stdout.write(`MONGO_URL=${infrastructure.mongoUrl}\nKAFKA_BROKERS=${infrastructure.kafkaBrokers.join(',')}\nPress Ctrl-C to stop.\n`);
  const stop = () => void infrastructure.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main(process.argv[2]).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
