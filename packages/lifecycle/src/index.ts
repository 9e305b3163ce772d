import { createLogger, type Logger } from '@lovepoints/logging';

/** One step of an orderly stop, run in the order given (stop taking work first, close last). */
export type StopStep = () => unknown;

/**
 * Runs a process's composition root. A failure at start is logged and exits 1, so a supervisor
 * sees it; SIGTERM and SIGINT run the stop steps once, each bounded, then exit 0.
 */
export function runMain(name: string, main: () => Promise<{ logger: Logger; stopSteps: StopStep[] }>, stopStepTimeoutMs = 10_000): void {
  main().then(
    ({ logger, stopSteps }) => {
      let stopping = false;
      const stop = async (signal: NodeJS.Signals) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'stopping');
        for (const step of stopSteps) {
          try {
            await Promise.race([Promise.resolve(step()), new Promise((resolve) => setTimeout(resolve, stopStepTimeoutMs))]);
          } catch (error) {
            logger.warn({ err: error }, 'a stop step failed; continuing');
          }
        }
        process.exit(0);
      };
      process.once('SIGTERM', (signal) => void stop(signal));
      process.once('SIGINT', (signal) => void stop(signal));
    },
    (error: unknown) => {
      createLogger(name).fatal({ err: error }, `${name} failed to start`);
      process.exit(1);
    },
  );
}
