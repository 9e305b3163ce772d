import { checkHealth } from '@lovepoints/grpc';
import express, { type Express } from 'express';
import { randomUUID } from 'node:crypto';
import { problemHandler, sendProblem } from './http/problem';
import { type GatewayContext, mountRoutes, openApiDocument } from './http/route';
import { apiRoutes } from './routes';

export interface GatewayAppOptions {
  context: GatewayContext;
  bodyLimit: string;
  /** gRPC addresses whose health decides readiness. */
  dependencies: Record<string, string>;
}

export function createGatewayApp(options: GatewayAppOptions): Express {
  const { context } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');

  // Every answer carries a request id (a client's own, if it sent a sane one) for tracing logs.
  app.use((request, response, next) => {
    const given = request.get('x-request-id');
    const requestId = given !== undefined && /^[\w-]{1,100}$/.test(given) ? given : randomUUID();
    response.set('x-request-id', requestId);
    const startedAt = process.hrtime.bigint();
    response.on('finish', () => {
      const durationMs = Number(process.hrtime.bigint() - startedAt) / 1e6;
      context.logger.info({ requestId, method: request.method, path: request.path, status: response.statusCode, durationMs }, 'request');
    });
    next();
  });
  app.use(express.json({ limit: options.bodyLimit, type: ['application/json', 'application/*+json'] }));

  app.get('/healthz', (_request, response) => {
    response.json({ status: 'ok' });
  });
  app.get('/readyz', async (_request, response) => {
    const entries = await Promise.all(Object.entries(options.dependencies).map(async ([name, address]) => [name, await checkHealth(address, 1000)] as const));
    const checks = Object.fromEntries(entries.map(([name, up]) => [name, up ? 'up' : 'down']));
    const ready = entries.every(([, up]) => up);
    response.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks });
  });

  const document = openApiDocument(apiRoutes);
  app.get('/api/openapi.json', (_request, response) => {
    response.json(document);
  });

  mountRoutes(app, apiRoutes, context);

  app.use((request, response) => {
    sendProblem(response, {
      type: 'https://lovepoints.example/problems/not_found',
      title: 'Not found',
      status: 404,
      detail: `No route ${request.method} ${request.path}.`,
      code: 'route_not_found',
    });
  });
  app.use(problemHandler(context.logger));
  return app;
}
