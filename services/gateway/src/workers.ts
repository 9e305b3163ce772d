import type { Logger } from '@lovepoints/logging';
import cluster, { type Worker } from 'node:cluster';

/**
 * Runs `count` gateway processes on one port (node:cluster): the primary hands each new
 * connection to a worker in turn, and each worker is a whole gateway. One Node process answers
 * on one core at most, and an authenticated read costs the gateway more CPU than the services
 * behind it (docs/benchmarks.md), so more workers let one host use its cores.
 *
 * A worker that fails before it listens stops the whole gateway (exit 1, as a single process
 * would, so a supervisor sees it); one that dies later is replaced. SIGTERM or SIGINT stops the
 * workers, each running its own orderly stop, then the primary.
 */
export function runWorkers(count: number, logger: Logger): void {
  let stopping = false;
  const listening = new Set<Worker>();

  const stopAll = (exitCode: number) => {
    stopping = true;
    const alive = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined && !worker.isDead());
    if (alive.length === 0) process.exit(exitCode);
    let left = alive.length;
    for (const worker of alive) {
      worker.once('exit', () => {
        left -= 1;
        if (left === 0) process.exit(exitCode);
      });
      worker.process.kill('SIGTERM');
    }
  };

  const fork = () => {
    const worker = cluster.fork();
    worker.once('listening', () => listening.add(worker));
    worker.once('exit', (code, signal) => {
      const wasListening = listening.delete(worker);
      if (stopping) return;
      if (!wasListening) {
        logger.fatal({ workerPid: worker.process.pid, code, signal }, 'a gateway worker failed to start; stopping');
        stopAll(1);
        return;
      }
      logger.error({ workerPid: worker.process.pid, code, signal }, 'a gateway worker died; starting another');
      setTimeout(() => {
        if (!stopping) fork();
      }, 500);
    });
  };

  logger.info({ workers: count }, 'starting gateway workers');
  for (let index = 0; index < count; index += 1) fork();
  process.once('SIGTERM', () => stopAll(0));
  process.once('SIGINT', () => stopAll(0));
}

/**
 * In a worker: stop in order when the primary goes away (it was killed outright), rather than
 * being left serving without anyone to restart or stop it.
 */
export function stopWhenPrimaryLeaves(): void {
  if (!cluster.isWorker) return;
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
}
