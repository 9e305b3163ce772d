import { checkHealth } from '@lovepoints/grpc';
import express, { type Express } from 'express';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { problemHandler, sendProblem } from './http/problem';
import { RateLimitedError, type WindowLimiter } from './http/rate-limit';
import { type GatewayContext, mountRoutes, openApiDocument } from './http/route';
import { apiRoutes } from './routes';

export interface GatewayAppOptions {
  context: GatewayContext;
  bodyLimit: string;
  /** gRPC addresses whose health decides readiness. */
  dependencies: Record<string, string>;
  /** Whether the gateway's own database answers (also part of readiness). */
  databaseReachable: () => Promise<boolean>;
  /** Requests per client IP address (this instance). */
  ipLimiter: WindowLimiter;
  /** Portal origins allowed to call the API from a browser. */
  corsOrigins: string[];
  /**
   * Proxies in front whose X-Forwarded-For names the client (express's `trust proxy`), so the
   * per-address limit counts clients rather than the load balancer; false trusts none.
   */
  trustProxy: false | number | string[];
}

/** Headers for a JSON API that no page should frame, sniff or embed. */
const securityHeaders = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'Cross-Origin-Resource-Policy': 'same-site',
  'Strict-Transport-Security': 'max-age=31536000; includeSubDomains',
};

export function createGatewayApp(options: GatewayAppOptions): Express {
  const { context } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.set('trust proxy', options.trustProxy);
  // No ETag: every answer is computed fresh from the services, and hashing each body cost a SHA-1 per request.
  app.set('etag', false);

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
  app.use((request, response, next) => {
    response.set(securityHeaders);
    const origin = request.get('origin');
    if (origin !== undefined && options.corsOrigins.includes(origin)) {
      response.set({
        'Access-Control-Allow-Origin': origin,
        Vary: 'Origin',
        'Access-Control-Allow-Headers': 'Authorization, Content-Type, Idempotency-Key, X-Request-Id',
        'Access-Control-Allow-Methods': 'GET, POST, PUT, PATCH, DELETE',
        'Access-Control-Expose-Headers': 'X-Request-Id, Retry-After, Idempotent-Replayed',
        'Access-Control-Max-Age': '600',
      });
    }
    if (request.method === 'OPTIONS') {
      response.status(204).end();
      return;
    }
    next();
  });
  app.use('/api', (request, _response, next) => {
    const verdict = options.ipLimiter.take(request.ip ?? request.socket.remoteAddress ?? 'unknown');
    if (!verdict.allowed) throw new RateLimitedError('rate_limited', 'Too many requests from this address; slow down.', verdict.retryAfterSeconds);
    next();
  });
  app.use(express.json({ limit: options.bodyLimit, type: ['application/json', 'application/*+json'] }));

  app.get('/healthz', (_request, response) => {
    response.json({ status: 'ok' });
  });
  app.get('/readyz', async (_request, response) => {
    const entries = await Promise.all([
      ...Object.entries(options.dependencies).map(async ([name, address]) => [name, await checkHealth(address, 1000)] as const),
      (async () => ['mongodb', await options.databaseReachable()] as const)(),
    ]);
    const checks = Object.fromEntries(entries.map(([name, up]) => [name, up ? 'up' : 'down']));
    const ready = entries.every(([, up]) => up);
    response.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks });
  });

  const document = openApiDocument(apiRoutes);
  app.get('/api/openapi.json', (_request, response) => {
    response.json(document);
  });
  // A browsable page over the same document; its CSP lets it load only its own script and style.
  const docsCsp = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; frame-ancestors 'none'";
  for (const [file, type] of [
    ['index.html', 'text/html'],
    ['docs.js', 'text/javascript'],
    ['docs.css', 'text/css'],
  ] as const) {
    const content = readFileSync(path.join(__dirname, 'docs', file));
    app.get(file === 'index.html' ? '/api/docs' : `/api/docs/${file}`, (_request, response) => {
      response.set('Content-Security-Policy', docsCsp).type(type).send(content);
    });
  }

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
