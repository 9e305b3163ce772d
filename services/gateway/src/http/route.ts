import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { parseInput, unauthenticated } from '@lovepoints/errors';
import { type Action, authorize, type Caller, policy, rolesFor, type ServiceClients } from '@lovepoints/grpc';
import type { Logger } from '@lovepoints/logging';
import type { Express, Request, Response } from 'express';
import type { AuditFacts, AuditLog } from '../audit/audit-log';
import { z } from 'zod';
import type { LoginGuard, RefreshSessions } from '../auth/sessions';
import { type TokenSettings, verifyAccessToken } from '../auth/tokens';
import type { IdempotencyStore } from './idempotency';
import { RateLimitedError, type WindowLimiter } from './rate-limit';

/** What every route handler can use. */
export interface GatewayContext {
  clients: ServiceClients;
  deadlineMs: number;
  tokens: TokenSettings;
  logger: Logger;
  sessions: RefreshSessions;
  loginGuard: LoginGuard;
  idempotency: IdempotencyStore;
  /** Requests per signed-in user (this instance). */
  userLimiter: WindowLimiter;
  audit: AuditLog;
}

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type AnyObjectSchema = z.ZodType<Record<string, unknown>>;

export interface RouteInput<Body, Query, Params> {
  body: Body;
  query: Query;
  params: Params;
  caller: Caller | undefined;
  /** The client's `Idempotency-Key`, when the route accepts one and it was sent. */
  idempotencyKey: string | undefined;
  /** The client's `Accept` header ('' when absent), for routes that answer in more than JSON. */
  accept: string;
}

/**
 * A non-JSON answer (a CSV export), sent as is with its content type. Routes that may return one
 * declare it in `alternativeContentType`, so the OpenAPI document lists it.
 */
export class TextBody {
  constructor(
    readonly contentType: string,
    readonly text: string,
    readonly fileName: string,
  ) {}
}

/**
 * One REST endpoint: its contract (path, schemas, status, who may call it) and its handler.
 * The same definition mounts the route and documents it, so the OpenAPI document cannot drift.
 */
export interface RouteDefinition<Body = unknown, Query = unknown, Params = unknown, Result = unknown> {
  method: Method;
  /** Express-style path, e.g. `/api/v1/activities/:id`. */
  path: string;
  summary: string;
  tag: string;
  /** `public` routes need no token; `signed_in` ones a valid access token and a role the policy grants `action`. */
  access: 'public' | 'signed_in';
  /** What the route does, in the policy table (packages/grpc policy.ts): who may, and how far. */
  action?: Action;
  /**
   * A privileged route: after it succeeds, the audit log records its action with what this
   * returns (the record acted on, its community, a small detail).
   */
  audit?: (input: RouteInput<Body, Query, Params>, result: Result, context: GatewayContext) => AuditFacts | Promise<AuditFacts>;
  body?: z.ZodType<Body>;
  query?: z.ZodType<Query>;
  params?: z.ZodType<Params>;
  successStatus: 200 | 201 | 204;
  /** Moves value and accepts an `Idempotency-Key` header: the same key gives the first result. */
  idempotent?: boolean;
  response?: z.ZodType;
  /** Another content type the route can answer in (as a TextBody), e.g. `text/csv`. */
  alternativeContentType?: string;
  handler: (input: RouteInput<Body, Query, Params>, context: GatewayContext) => Promise<Result>;
}

/**
 * A route with its input types erased, for the list that mounts and documents them; each
 * definition was type-checked against its own schemas by `defineRoute`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRoute = RouteDefinition<any, any, any, any>;

export function defineRoute<Body = undefined, Query = undefined, Params = undefined, Result = unknown>(
  route: RouteDefinition<Body, Query, Params, Result>,
): RouteDefinition<Body, Query, Params, Result> {
  return route;
}

const idempotencyKeyHeader = z
  .string()
  .regex(/^[\w.:-]{8,100}$/, '8 to 100 letters, digits, dots, colons, dashes or underscores')
  .optional();

function callerOf(request: Request, context: GatewayContext): Caller | undefined {
  const header = request.get('authorization');
  if (header === undefined) return undefined;
  const match = /^Bearer ([\w-]+\.[\w-]+\.[\w-]*)$/.exec(header);
  if (match?.[1] === undefined) throw unauthenticated('The Authorization header must be "Bearer <accessToken>".');
  return verifyAccessToken(context.tokens, match[1]);
}

export function mountRoutes(app: Express, routes: readonly AnyRoute[], context: GatewayContext): void {
  for (const route of routes) {
    app[route.method](route.path, async (request, response) => {
      const caller = callerOf(request, context);
      if (route.access === 'signed_in') {
        if (caller === undefined) throw unauthenticated();
        // Roles only: the record, and so its community, is known to the service, which checks again.
        if (route.action !== undefined) authorize(caller, route.action);
      }
      if (caller !== undefined) {
        const verdict = context.userLimiter.take(caller.userId);
        if (!verdict.allowed) throw new RateLimitedError('rate_limited', 'Too many requests from this account; slow down.', verdict.retryAfterSeconds);
      }
      const input: RouteInput<unknown, unknown, unknown> = {
        body: route.body ? parseInput(route.body, request.body ?? {}) : undefined,
        query: route.query ? parseInput(route.query, request.query) : undefined,
        params: route.params ? parseInput(route.params, request.params) : undefined,
        caller,
        idempotencyKey: route.idempotent ? parseInput(idempotencyKeyHeader, request.get('idempotency-key'), 'Idempotency-Key') : undefined,
        accept: request.get('accept') ?? '',
      };
      const idempotent =
        caller !== undefined && input.idempotencyKey !== undefined
          ? await context.idempotency.start(caller.userId, `${route.method} ${request.path}`, input.idempotencyKey, { body: input.body, query: input.query })
          : undefined;
      if (idempotent?.kind === 'replay') {
        response.set('Idempotent-Replayed', 'true');
        send(response, idempotent.status, idempotent.body);
        return;
      }
      let result: unknown;
      try {
        result = await route.handler(input, context);
      } catch (error) {
        if (idempotent !== undefined) await context.idempotency.abandon(idempotent.id);
        throw error;
      }
      const describe = route.audit;
      if (describe !== undefined && route.action !== undefined && caller !== undefined) {
        const origin = { requestId: response.get('x-request-id') ?? '', method: route.method, path: request.path };
        await context.audit.record(route.action, caller, origin, () => describe(input, result, context));
      }
      if (idempotent !== undefined) await context.idempotency.finish(idempotent.id, route.successStatus, result);
      send(response, route.successStatus, result);
    });
  }
}

/** Writes a handler's answer (or a replayed one): nothing for 204, a file for a TextBody, else JSON. */
function send(response: Response, status: number, body: unknown): void {
  if (status === 204) response.status(204).end();
  else if (body instanceof TextBody) response.status(status).type(body.contentType).attachment(body.fileName).send(body.text);
  else response.status(status).json(body);
}

const scopeWords = {
  any: 'anywhere',
  self: 'their own records',
  owner: 'records they own',
  community: 'their community',
  street: 'the communities of their street',
} as const;

/** Who may call a route, in words, from the policy table. */
function policyDescription(action: Action, audited: boolean): string {
  const grants: Partial<Record<string, keyof typeof scopeWords>> = policy[action];
  const who = rolesFor(action).map((role) => `${role} (${scopeWords[grants[role] ?? 'any']})`);
  return `Action \`${action}\`. Roles: ${who.join(', ')}.${audited ? ' Recorded in the audit log.' : ''}`;
}

/** The OpenAPI 3.1 document, generated from the route definitions' zod schemas. */
export function openApiDocument(routes: readonly AnyRoute[]) {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  const problem = z.object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  });
  const problemResponse = (description: string) => ({ description, content: { 'application/problem+json': { schema: problem } } });
  for (const route of routes) {
    registry.registerPath({
      method: route.method,
      path: route.path.replace(/:(\w+)/g, '{$1}'),
      summary: route.summary,
      tags: [route.tag],
      ...(route.access === 'signed_in' ? { security: [{ bearer: [] }] } : {}),
      ...(route.action ? { description: policyDescription(route.action, route.audit !== undefined) } : {}),
      request: {
        ...(route.params ? { params: route.params as AnyObjectSchema as z.ZodObject } : {}),
        ...(route.query ? { query: route.query as AnyObjectSchema as z.ZodObject } : {}),
        ...(route.idempotent ? { headers: z.object({ 'Idempotency-Key': idempotencyKeyHeader }) } : {}),
        ...(route.body ? { body: { content: { 'application/json': { schema: route.body } } } } : {}),
      },
      responses: {
        [route.successStatus]: route.response
          ? {
              description: 'Success',
              content: {
                'application/json': { schema: route.response },
                ...(route.alternativeContentType ? { [route.alternativeContentType]: { schema: z.string() } } : {}),
              },
            }
          : { description: 'Success' },
        400: problemResponse('Invalid input: `errors` names each field and why.'),
        ...(route.access === 'signed_in'
          ? { 401: problemResponse('No, invalid or expired token.'), 403: problemResponse('Role or community not allowed.') }
          : {}),
        404: problemResponse('Unknown id (also for ids of another community).'),
        409: problemResponse('Conflict with the current state.'),
        422: problemResponse('Refused by a business rule.'),
      },
    });
  }
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Love points platform API',
      version: '1.0.0',
      description: 'REST API v1 for community portals: volunteers, love points, the love-points supermarket and the time bank.',
    },
    servers: [{ url: '/' }],
  });
}
