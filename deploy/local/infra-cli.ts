import { type Infrastructure, infrastructureOptionsFromEnv, startInfrastructure, stopInfrastructure } from './infra';

/**
 * `npm run infra:start` runs only Kafka and the MongoDB-protocol server, in the foreground, for
 * running services by hand; Ctrl-C or SIGTERM stops them. `npm run infra:stop` stops every JVM
 * recorded in the state folder's pid files, such as those a killed run left behind.
 */
async function main(command: string | undefined): Promise<void> {
  if (command === 'stop') {
    const options = infrastructureOptionsFromEnv();
    await stopInfrastructure(options.stateDir, options.logger);
    return;
  }
  if (command !== 'start') {
    process.stderr.write('usage: tsx deploy/local/infra-cli.ts start|stop\n');
    process.exit(2);
  }

  const options = infrastructureOptionsFromEnv({ persistent: true });
  let infrastructure: Infrastructure | undefined = undefined;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second Ctrl-C does not wait for the orderly stop; the 'exit' handler kills the JVMs.
      process.exit(130);
    }
    stopping = true;
    if (infrastructure === undefined) {
      // Still starting: exiting runs the 'exit' handler, which kills whatever was started.
      process.exit(130);
    }
    process.stdout.write(`\n${signal}: stopping Kafka and MongoDB…\n`);
    infrastructure.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`Stopping failed: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(1);
      },
    );
  };
  // Installed before starting, so Ctrl-C during the start still goes through process.exit (and
  // its 'exit' handler) rather than Node's default, which skips 'exit' handlers.
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  infrastructure = await startInfrastructure(options);
  process.stdout.write(
    [
      '',
      'Kafka and MongoDB are up. Use them with:',
      `  MONGO_URL=${infrastructure.mongoUrl}`,
      `  KAFKA_BROKERS=${infrastructure.kafkaBrokers.join(',')}`,
      `Logs and pid files are under ${options.stateDir}. Press Ctrl-C to stop.`,
      '',
    ].join('\n'),
  );
  // The JVM child processes keep this process running until a signal stops them. Should both end
  // by themselves (killed, or stopped by infra:stop), the event loop empties and this says so.
  process.once('beforeExit', () => {
    if (stopping) return;
    process.stderr.write('Kafka and MongoDB stopped on their own; see the logs named above.\n');
    process.exit(1);
  });
}

main(process.argv[2]).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
