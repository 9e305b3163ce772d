import pino from 'pino';

export type Logger = pino.Logger;

/** One JSON logger per process, tagged with the service name; level from LOG_LEVEL. */
export function createLogger(service: string, level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name: service, level, base: { service }, timestamp: pino.stdTimeFunctions.isoTime });
}
