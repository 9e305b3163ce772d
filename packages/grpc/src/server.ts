import * as grpc from '@grpc/grpc-js';
import { DomainError } from '@lovepoints/errors';
import type { Logger } from '@lovepoints/logging';
import { type Caller, callerFromMetadata } from './caller';
import { HealthService } from './health';
import { protos } from './loader';
import { grpcErrorFromDomain } from './status-table';

/** What a handler gets: the decoded request and the caller from metadata (if any). */
export type UnaryHandler<Request, Response> = (request: Request, caller: Caller | undefined) => Promise<Response>;

/**
 * Adapts an async handler to grpc-js: a DomainError becomes its status from the table; anything
 * else is logged and answered INTERNAL without leaking its message.
 */
export function unary<Request, Response>(
  logger: Logger,
  method: string,
  handler: UnaryHandler<Request, Response>,
  inFlight: { count: number } = { count: 0 },
): grpc.handleUnaryCall<Request, Response> {
  return (call, callback) => {
    inFlight.count += 1;
    // Starting from a resolved promise turns a synchronous throw (such as a validation error
    // raised while building the handler's arguments) into a rejection handled below.
    Promise.resolve()
      .then(() => handler(call.request, callerFromMetadata(call.metadata)))
      .finally(() => {
        inFlight.count -= 1;
      })
      .then(
        (response) => callback(null, response),
        (error: unknown) => {
          if (error instanceof DomainError) {
            callback(grpcErrorFromDomain(error));
            return;
          }
          logger.error({ err: error, method }, 'unhandled error in gRPC handler');
          callback({ code: grpc.status.INTERNAL, details: 'Internal error' });
        },
      );
  };
}

/** Handlers typed from the generated `…Handlers` interface, written as async functions. */
export type AsyncHandlers<Handlers> = {
  [Method in keyof Handlers as string extends Method ? never : Method]: Handlers[Method] extends grpc.handleUnaryCall<infer Request, infer Response>
    ? UnaryHandler<Request, Response>
    : never;
};

export interface GrpcServer {
  /** Registers a service from its generated definition with async handlers. */
  addService<Handlers>(definition: grpc.ServiceDefinition, handlers: AsyncHandlers<Handlers>): void;
  health: HealthService;
  /** Binds and starts; resolves with the bound port. */
  start(host: string, port: number): Promise<number>;
  /** Stops taking calls, lets running ones finish for up to `graceMs`, then forces. */
  stop(graceMs?: number): Promise<void>;
}

export function createGrpcServer(logger: Logger): GrpcServer {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024, 'grpc.enable_channelz': 0 });
  const health = new HealthService();
  const inFlight = { count: 0 };
  server.addService(protos().health.grpc.health.v1.Health.service, health.handlers());
  return {
    health,
    addService(definition, handlers) {
      const implementation: grpc.UntypedServiceImplementation = {};
      for (const [method, handler] of Object.entries(handlers as Record<string, UnaryHandler<unknown, unknown>>)) {
        implementation[method] = unary(logger, method, handler, inFlight);
      }
      server.addService(definition, implementation);
    },
    start(host, port) {
      return new Promise((resolve, reject) => {
        server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (error, boundPort) => {
          if (error) reject(error);
          else resolve(boundPort);
        });
      });
    },
    async stop(graceMs = 5000) {
      health.setAll('NOT_SERVING');
      // Running calls may finish; idle client connections (the gateway keeps its channels open)
      // would hold a graceful shutdown until the grace ends, so they are cut once calls are done.
      const deadline = Date.now() + graceMs;
      while (inFlight.count > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      server.forceShutdown();
    },
  };
}
