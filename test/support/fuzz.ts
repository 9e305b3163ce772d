import fc from 'fast-check';
import http from 'node:http';

/**
 * Malformed requests for every operation of the gateway's OpenAPI document, shared by the
 * integration spec (a couple of thousand, in CI) and `npm run bench:fuzz` (a long run). The
 * operations are read from the document at run time, so a route added later is fuzzed too.
 * Requests are drawn from a seeded generator: the same seed and request number give the same
 * request again (apart from the real ids and tokens, which each run creates anew).
 */

/** The part of a JSON Schema (as zod-to-openapi writes it) that the generators read. */
export interface JsonSchema {
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  $ref?: string;
}

export interface FuzzOperation {
  method: string;
  /** OpenAPI path, e.g. `/api/v1/activities/{id}`. */
  pathTemplate: string;
  queryParameters: { name: string; schema: JsonSchema }[];
  bodySchema: JsonSchema | undefined;
  idempotent: boolean;
}

interface OpenApiDocument {
  paths?: Record<string, Record<string, OpenApiOperation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}
interface OpenApiOperation {
  parameters?: { name: string; in: string; schema?: JsonSchema }[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
}

const httpMethods = new Set(['get', 'post', 'put', 'patch', 'delete']);

/** Every operation of the document, with `$ref`s to its components resolved. */
export function operationsFromOpenApi(document: unknown): FuzzOperation[] {
  const { paths = {}, components = {} } = document as OpenApiDocument;
  const resolve = (schema: JsonSchema | undefined, depth = 0): JsonSchema | undefined => {
    if (schema === undefined || depth > 20) return schema;
    if (schema.$ref !== undefined) return resolve(components.schemas?.[schema.$ref.split('/').pop() ?? ''], depth + 1);
    return schema;
  };
  const operations: FuzzOperation[] = [];
  for (const [pathTemplate, methods] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      if (!httpMethods.has(method)) continue;
      const parameters = operation.parameters ?? [];
      operations.push({
        method: method.toUpperCase(),
        pathTemplate,
        queryParameters: parameters
          .filter((parameter) => parameter.in === 'query')
          .map((parameter) => ({ name: parameter.name, schema: resolve(parameter.schema) ?? {} })),
        bodySchema: resolve(operation.requestBody?.content?.['application/json']?.schema),
        idempotent: parameters.some((parameter) => parameter.in === 'header' && parameter.name.toLowerCase() === 'idempotency-key'),
      });
    }
  }
  return operations;
}

/** Who the requests may act as, and real ids to put into paths next to junk. */
export interface FuzzIdentities {
  /** Access tokens by a label (the role), used as they are and tampered with. */
  tokens: Record<string, string>;
  /**
   * Real ids by the path segment they follow (`activities`, `communities`, `teams`…) or by the
   * parameter's own name (`userId`); a path parameter with none gets junk only.
   */
  ids: Record<string, string[]>;
}

export interface FuzzRequest {
  /** The operation it was made from, e.g. `POST /api/v1/activities/{id}/publish`. */
  operation: string;
  method: string;
  /** Path and query as sent, percent-encoded or deliberately not. */
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** JSON text that JSON.stringify cannot write (1e400, -0, deep nesting) or that must stay verbatim. */
class RawJson {
  constructor(readonly text: string) {}
}

/** Writes JSON text; objects are null-prototype, so keys such as `__proto__` are kept as data. */
function toJsonText(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .map((key) => `${JSON.stringify(key)}:${toJsonText((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function objectOf(entries: [string, unknown][]): Record<string, unknown> {
  const object: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [key, value] of entries) object[key] = value;
  return object;
}

/**
 * Percent-encodes the UTF-8 bytes of any string; unlike encodeURIComponent it does not throw on a
 * lone surrogate (which becomes U+FFFD, as Buffer writes it).
 */
function percentEncode(text: string): string {
  let encoded = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const character = String.fromCharCode(byte);
    encoded += /[\w.~-]/.test(character) ? character : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return encoded;
}

/** `arbitrary`'s value in about `percent` of draws, else null. */
function sometimes<Value>(arbitrary: fc.Arbitrary<Value>, percent: number): fc.Arbitrary<Value | null> {
  return fc.oneof({ arbitrary: fc.constant(null), weight: 100 - percent }, { arbitrary, weight: percent });
}

const nested = (depth: number, open: string, close: string) => new RawJson(`${open.repeat(depth)}${close.repeat(depth)}`);

/** Strings that have broken parsers, queries and path handling elsewhere. */
const hostileStrings = [
  '',
  ' ',
  '\t\n\r',
  'NaN',
  'Infinity',
  '-Infinity',
  '-0',
  '1e309',
  '0x1F',
  '9007199254740993',
  'null',
  'undefined',
  'true',
  '[]',
  '{}',
  '{"$gt":""}',
  '$where',
  '$gt',
  '$ne',
  '__proto__',
  'constructor',
  'prototype',
  '../../../etc/passwd',
  '..\\..\\windows',
  '%00',
  '\u0000',
  '\u0000abc',
  '\ud800',
  '\udfff\ud800',
  '\u202e\u0644\u0627',
  '\uffff\ufffe',
  '𝕏🚀👨‍👩‍👧',
  '社区🏠',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  '000000000000000000000000',
  'ffffffffffffffffffffffff',
  '2026-02-30T25:61:61Z',
  '0000-00-00T00:00:00Z',
  '+275760-09-13T00:00:00.000Z',
  '2026-11-23T09:00:00+08:00',
];

const hostileNumbers: unknown[] = [
  -1,
  0,
  0.5,
  -0.0001,
  1.5,
  2 ** 31,
  2 ** 53,
  Number.MAX_SAFE_INTEGER,
  -Number.MAX_SAFE_INTEGER,
  1e21,
  1e308,
  -1e308,
  Number.MIN_VALUE,
  new RawJson('9007199254740993'),
  new RawJson('123456789012345678901234567890'),
  new RawJson('1e400'),
  new RawJson('-1e400'),
  new RawJson('-0'),
  new RawJson('1.0000000000000002'),
  new RawJson('1E2'),
];

/** Values in the wrong place: operators, prototype keys, huge and deep structures, wrong types. */
function hostileValue(): fc.Arbitrary<unknown> {
  return fc.oneof(
    { arbitrary: fc.constantFrom(...hostileStrings), weight: 6 },
    { arbitrary: fc.constantFrom(...hostileNumbers), weight: 4 },
    { arbitrary: fc.constantFrom(null, true, false, [], objectOf([])), weight: 2 },
    {
      arbitrary: fc.constantFrom(
        objectOf([['$gt', '']]),
        objectOf([['$ne', null]]),
        objectOf([['$where', 'sleep(1000) || true']]),
        objectOf([['$regex', '.*']]),
        objectOf([['$in', ['a', 'b']]]),
        objectOf([['$expr', objectOf([['$eq', [1, 1]]])]]),
        objectOf([['__proto__', objectOf([['admin', true]])]]),
        objectOf([['constructor', objectOf([['prototype', objectOf([['polluted', true]])]])]]),
        [objectOf([['$gt', '']])],
      ),
      weight: 4,
    },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }), weight: 3 },
    { arbitrary: fc.string({ unit: 'grapheme', minLength: 101, maxLength: 3000 }), weight: 1 },
    { arbitrary: fc.integer({ min: 1000, max: 60_000 }).map((length) => 'x'.repeat(length)), weight: 1 },
    { arbitrary: fc.integer({ min: 10, max: 5000 }).map((depth) => nested(depth, '[', ']')), weight: 1 },
    { arbitrary: fc.integer({ min: 10, max: 2000 }).map((depth) => new RawJson(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`)), weight: 1 },
    { arbitrary: fc.integer({ min: 100, max: 5000 }).map((count) => Array.from({ length: count }, (_, index) => index)), weight: 1 },
    { arbitrary: fc.double(), weight: 1 },
    { arbitrary: fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }).map((value) => new RawJson(value.toString())), weight: 1 },
  );
}

function schemaTypes(schema: JsonSchema): string[] {
  if (schema.type === undefined) return [];
  return Array.isArray(schema.type) ? schema.type : [schema.type];
}

/** A value the schema would mostly accept, so requests also get past validation into the services. */
function plausibleValue(schema: JsonSchema, depth = 0): fc.Arbitrary<unknown> {
  if (depth > 6) return fc.constant(null);
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum !== undefined && schema.enum.length > 0) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives !== undefined && alternatives.length > 0) return fc.oneof(...alternatives.map((alternative) => plausibleValue(alternative, depth + 1)));
  if (schema.allOf !== undefined && schema.allOf.length > 0) return plausibleValue(schema.allOf[0]!, depth + 1);
  const types = schemaTypes(schema);
  const byType = (type: string): fc.Arbitrary<unknown> => {
    switch (type) {
      case 'string':
        if (schema.format === 'date-time') {
          return fc.integer({ min: -30 * 24, max: 60 * 24 }).map((hours) => new Date(Date.now() + hours * 3_600_000).toISOString());
        }
        return fc.string({ unit: 'grapheme', minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 30, 30) });
      case 'integer':
        return fc.integer({ min: Math.max(schema.minimum ?? -1000, -1e9), max: Math.min(schema.maximum ?? 100_000, 1e9) });
      case 'number':
        return fc.double({ min: Math.max(schema.minimum ?? -1000, -1e9), max: Math.min(schema.maximum ?? 100_000, 1e9), noNaN: true });
      case 'boolean':
        return fc.boolean();
      case 'null':
        return fc.constant(null);
      case 'array':
        return fc.array(plausibleValue(schema.items ?? {}, depth + 1), { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 5, 5) });
      case 'object':
        return fuzzObject(schema, depth + 1);
      default:
        return fc.jsonValue({ maxDepth: 2 });
    }
  };
  if (types.length === 0) return schema.properties !== undefined ? fuzzObject(schema, depth + 1) : fc.jsonValue({ maxDepth: 2 });
  return fc.oneof(...types.map(byType));
}

/** A field's value: mostly plausible, often hostile. */
function fieldValue(schema: JsonSchema, depth: number): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: plausibleValue(schema, depth), weight: 3 }, { arbitrary: hostileValue(), weight: 2 });
}

const extraKeys = [
  '__proto__',
  'constructor',
  'prototype',
  '$where',
  '$gt',
  'roles',
  '_id',
  'id',
  'communityId',
  'userId',
  'amount',
  '',
  '\u0000',
  'a.b',
  '$set',
];

/** An object for a schema: each field present or not, plausible or hostile, plus extra fields. */
function fuzzObject(schema: JsonSchema, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const properties = Object.entries(schema.properties ?? {});
  const fields = properties.map(([name, propertySchema]) =>
    fc.option(
      fieldValue(propertySchema, depth).map((value): [string, unknown] => [name, value]),
      { freq: (schema.required ?? []).includes(name) ? 8 : 2 },
    ),
  );
  const extras = fc.array(fc.tuple(fc.oneof(fc.constantFrom(...extraKeys), fc.string({ maxLength: 10 })), hostileValue()), { maxLength: 3 });
  return fc
    .tuple(fc.tuple(...fields), extras)
    .map(([present, extra]) => objectOf([...present.filter((field): field is [string, unknown] => field !== null), ...extra]));
}

/** The body text of a request: usually JSON for the schema, sometimes not JSON or not an object. */
function bodyText(schema: JsonSchema | undefined): fc.Arbitrary<string | undefined> {
  const json = (value: fc.Arbitrary<unknown>) => value.map(toJsonText);
  const notJson = fc.constantFrom(
    '{"phone": ',
    '{',
    '}',
    '[',
    "{'single': 'quotes'}",
    '{"a":1,}',
    '{"a":01}',
    '{"a":NaN}',
    '{"a":Infinity}',
    '{"a":undefined}',
    '\u0000',
    '\ufeff{}',
    'null',
    '"just a string"',
    '12',
    'true',
    '{"a":"\\ud800"}',
    '{"a":"\\u0000"}',
    '{"__proto__":{"admin":true},"constructor":{"prototype":{"admin":true}}}',
    'a=1&b=2',
    '<xml/>',
    ' ',
    '{"a":1}{"b":2}',
    '{"a":1,"a":2}',
  );
  return fc.oneof(
    { arbitrary: schema === undefined ? fc.constant(undefined) : json(fuzzObject(schema, 0)), weight: 50 },
    { arbitrary: fc.constant(undefined), weight: 5 },
    { arbitrary: json(hostileValue()), weight: 10 },
    { arbitrary: notJson, weight: 10 },
    { arbitrary: fc.integer({ min: 110_000, max: 300_000 }).map((length) => `{"a":"${'x'.repeat(length)}"}`), weight: 1 },
  );
}

/** Ids for a path: a real one when the run has any, or junk, encoded or deliberately not. */
const junkIds = [
  '..',
  '.',
  '..%2F..%2Fetc%2Fpasswd',
  '..%2f',
  '%2e%2e',
  '%00',
  'abc%00def',
  '%',
  '%zz',
  '%E0%A4%A',
  '%FF%FE',
  '%C0%AE%C0%AE',
  '%24gt',
  '%7B%22%24gt%22%3A%22%22%7D',
  '$where',
  '__proto__',
  'constructor',
  'prototype',
  'hasOwnProperty',
  'toString',
  'null',
  'undefined',
  'NaN',
  '-1',
  '0',
  '1.5',
  '1e400',
  '9007199254740993',
  '000000000000000000000000',
  '%20',
  '%09',
  '%E7%A4%BE%E5%8C%BA',
  'me',
  ';',
  '*',
  '~',
];

function pathId(realIds: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: realIds.length > 0 ? fc.constantFrom(...realIds) : fc.constantFrom(...junkIds), weight: 4 },
    { arbitrary: fc.constantFrom(...junkIds), weight: 3 },
    { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).map(encodeURIComponent), weight: 2 },
    { arbitrary: fc.integer({ min: 101, max: 2000 }).map((length) => 'a'.repeat(length)), weight: 1 },
    { arbitrary: hostileValue().map((value) => percentEncode(typeof value === 'string' ? value : toJsonText(value)).slice(0, 2000)), weight: 1 },
  );
}

function pathFor(operation: FuzzOperation, identities: FuzzIdentities): fc.Arbitrary<string> {
  const segments = operation.pathTemplate.split('/');
  const parts = segments.map((segment, index): fc.Arbitrary<string> => {
    const parameter = /^\{(\w+)\}$/.exec(segment)?.[1];
    if (parameter === undefined) return fc.constant(segment);
    const realIds = identities.ids[parameter] ?? identities.ids[segments[index - 1] ?? ''] ?? [];
    return pathId(realIds);
  });
  return fc.tuple(...parts).map((filled) => filled.join('/'));
}

const weirdQueries = [
  '%',
  'a=%zz',
  '&&&',
  '=',
  '==',
  'a[b]=c',
  '__proto__[admin]=1',
  '__proto__=1',
  'constructor[prototype][admin]=1',
  'limit=1&limit=2',
  'limit=1e400',
  'limit=-1',
  'limit=0.5',
  'limit=9007199254740993',
  'limit=NaN',
  'cursor=%00',
  'userId[$gt]=',
  'userId=%24where',
  'status[]=open',
  'a=1;b=2',
  '%00=%00',
];

function queryFor(operation: FuzzOperation): fc.Arbitrary<string> {
  const declared = operation.queryParameters.map((parameter) =>
    fc.option(
      fc
        .oneof(
          plausibleValue(parameter.schema).map((value) => (typeof value === 'string' ? value : toJsonText(value))),
          hostileValue().map((value) => (typeof value === 'string' ? value : toJsonText(value)).slice(0, 500)),
        )
        .map((value) => `${parameter.name}=${percentEncode(value)}`),
      { freq: 2 },
    ),
  );
  const weird = sometimes(
    fc.oneof(
      { arbitrary: fc.constantFrom(...weirdQueries), weight: 5 },
      { arbitrary: fc.integer({ min: 500, max: 1100 }).map((count) => 'x=1&'.repeat(count)), weight: 1 },
      { arbitrary: fc.string({ unit: 'binary', maxLength: 20 }).map((text) => percentEncode(text)), weight: 2 },
    ),
    25,
  );
  return fc.tuple(fc.tuple(...declared), weird).map(([parameters, extra]) => {
    const pairs = [...parameters.filter((pair): pair is string => pair !== null), ...(extra === null ? [] : [extra])];
    return pairs.length === 0 ? '' : `?${pairs.join('&')}`;
  });
}

const base64Url = (text: string) => Buffer.from(text).toString('base64url');

function authorization(tokens: Record<string, string>): fc.Arbitrary<string | undefined> {
  const real = Object.values(tokens);
  const forged = [
    'Bearer garbage',
    'Bearer a.b.c',
    'Bearer ..',
    'Bearer',
    'Bearer ',
    'bearer x.y.z',
    'Basic dXNlcjpwYXNzd29yZA==',
    `Bearer ${base64Url('{"alg":"none","typ":"JWT"}')}.${base64Url('{"sub":"x","typ":"access","roles":["street_admin"],"cid":"c","street":"s"}')}.`,
    `Bearer ${base64Url('{"alg":"HS256"}')}.${base64Url('{"sub":{"$gt":""},"typ":"access","roles":["street_admin"]}')}.c2lnbmF0dXJl`,
    `Bearer ${base64Url('{"alg":"RS256"}')}.${base64Url('{}')}.c2ln`,
    `Bearer ${'a'.repeat(1500)}.${'b'.repeat(1500)}.c`,
  ];
  const tampered = real.map((token) => `Bearer ${token.slice(0, -4)}${token.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`);
  return fc.oneof(
    { arbitrary: real.length > 0 ? fc.constantFrom(...real).map((token) => `Bearer ${token}`) : fc.constant(undefined), weight: 10 },
    { arbitrary: fc.constant(undefined), weight: 3 },
    { arbitrary: fc.constantFrom(...forged, ...tampered), weight: 3 },
  );
}

const contentTypes = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/json; charset=latin1',
  'application/problem+json',
  'application/vnd.api+json',
  'text/plain',
  'text/json',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=----x',
  'application/xml',
  '*/*',
  'application/json; boundary=x; charset=nonsense',
  'garbage',
];

function headersFor(operation: FuzzOperation, identities: FuzzIdentities): fc.Arbitrary<Record<string, string>> {
  return fc
    .record({
      authorization: authorization(identities.tokens),
      contentType: fc.oneof({ arbitrary: fc.constant('application/json'), weight: 8 }, { arbitrary: fc.constantFrom(...contentTypes, ''), weight: 2 }),
      idempotencyKey: sometimes(
        fc.oneof(
          fc.uuid(),
          fc.constantFrom('a', 'x'.repeat(200), '../../../', '$gt', '__proto__', 'key with spaces', '%00%00%00%00%00'),
          fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 120 }),
        ),
        operation.idempotent ? 60 : 10,
      ),
      contentEncoding: sometimes(fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'compress', 'x-nonsense'), 4),
      requestId: sometimes(fc.oneof(fc.string({ unit: 'binary-ascii', maxLength: 150 }), fc.constant('x'.repeat(500))), 10),
    })
    .map(({ authorization: auth, contentType, idempotencyKey, contentEncoding, requestId }) => {
      const headers: Record<string, string> = {};
      if (auth !== undefined) headers.authorization = auth;
      if (contentType !== '') headers['content-type'] = contentType;
      // Header values may carry visible ASCII and spaces only; anything else Node refuses to send.
      const printable = (value: string) => value.replace(/[^\x20-\x7e]/g, '?');
      if (idempotencyKey !== null) headers['idempotency-key'] = printable(idempotencyKey);
      if (contentEncoding !== null) headers['content-encoding'] = contentEncoding;
      if (requestId !== null) headers['x-request-id'] = printable(requestId);
      return headers;
    });
}

const otherMethods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** Requests for the given operations, each operation equally likely. */
export function fuzzRequests(operations: readonly FuzzOperation[], identities: FuzzIdentities): fc.Arbitrary<FuzzRequest> {
  if (operations.length === 0) throw new Error('the OpenAPI document lists no operations to fuzz');
  return fc.oneof(
    ...operations.map((operation) =>
      fc
        .record({
          path: pathFor(operation, identities),
          query: queryFor(operation),
          headers: headersFor(operation, identities),
          body: bodyText(operation.bodySchema),
          method: fc.oneof({ arbitrary: fc.constant(operation.method), weight: 19 }, { arbitrary: fc.constantFrom(...otherMethods), weight: 1 }),
        })
        .map(({ path, query, headers, body, method }): FuzzRequest => {
          const request: FuzzRequest = { operation: `${operation.method} ${operation.pathTemplate}`, method, path: `${path}${query}`, headers };
          if (body !== undefined) request.body = body;
          else delete request.headers['content-type'];
          return request;
        }),
    ),
  );
}

/**
 * The requests of a run, drawn lazily in chunks (chunk k from seed + k), so a long run does not
 * hold all of them in memory and request n of a seed is the same every time.
 */
export function* drawRequests(arbitrary: fc.Arbitrary<FuzzRequest>, seed: number, count: number, chunkSize = 250): Generator<FuzzRequest> {
  for (let drawn = 0, chunk = 0; drawn < count; chunk += 1) {
    const size = Math.min(chunkSize, count - drawn);
    for (const request of fc.sample(arbitrary, { seed: (seed + chunk) | 0, numRuns: size })) yield request;
    drawn += size;
  }
}

export interface FuzzAnswer {
  status: number;
  contentType: string;
  /** The start of the body, for the report. */
  bodyStart: string;
}

/**
 * Sends one request with node:http, which (unlike fetch) sends the path exactly as given:
 * no dot-segment removal, no re-encoding.
 */
export function sendFuzzRequest(baseUrl: string, request: FuzzRequest, agent: http.Agent, timeoutMs: number): Promise<FuzzAnswer> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const outgoing = http.request(
      {
        host: url.hostname,
        port: url.port,
        method: request.method,
        path: request.path,
        headers: { ...request.headers, ...(request.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(request.body)) }) },
        agent,
        timeout: timeoutMs,
      },
      (response) => {
        const chunks: Buffer[] = [];
        let length = 0;
        response.on('data', (chunk: Buffer) => {
          if (length < 2000) chunks.push(chunk);
          length += chunk.length;
        });
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            contentType: String(response.headers['content-type'] ?? ''),
            bodyStart: Buffer.concat(chunks).toString('utf8').slice(0, 500),
          }),
        );
        response.on('error', reject);
      },
    );
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    outgoing.on('error', reject);
    outgoing.end(request.body);
  });
}

/** Why an answer is wrong, or undefined: no 5xx, and every error in problem+json. */
export function answerFault(answer: FuzzAnswer): string | undefined {
  if (answer.status >= 500) return `status ${answer.status}`;
  if (answer.status >= 400 && !answer.contentType.startsWith('application/problem+json')) {
    return `status ${answer.status} as ${answer.contentType || 'no content type'}, not application/problem+json`;
  }
  return undefined;
}

/** A request written so it can be sent again by hand. */
export function describeRequest(request: FuzzRequest): string {
  const body = request.body === undefined ? '' : `\n  body (${request.body.length} chars): ${JSON.stringify(request.body.slice(0, 600))}`;
  const headers = Object.entries(request.headers)
    .map(([name, value]) => `${name}: ${value.length > 120 ? `${value.slice(0, 120)}…` : value}`)
    .join('; ');
  const path = request.path.length > 400 ? `${request.path.slice(0, 400)}… (${request.path.length} chars)` : request.path;
  return `${request.method} ${path}  [from ${request.operation}]\n  headers: ${headers}${body}`;
}

export interface FuzzOffender {
  index: number;
  request: FuzzRequest;
  fault: string;
  answer: FuzzAnswer | undefined;
}

export interface FuzzReport {
  sent: number;
  durationMs: number;
  countsByStatus: Record<string, number>;
  /** Requests by the operation they were made from. */
  countsByOperation: Record<string, number>;
  offenders: FuzzOffender[];
  offenderCount: number;
  /** `/readyz` checks that did not answer 200, with how many requests had been sent by then. */
  readinessFailures: { afterRequests: number; status: number | string }[];
  readinessChecks: number;
}

export interface FuzzRunOptions {
  baseUrl: string;
  requests: Iterable<FuzzRequest>;
  concurrency: number;
  /** `/readyz` is checked after about this many requests, and once at the end. */
  readinessEvery: number;
  timeoutMs?: number;
  /** Offenders kept in full for the report (all are counted). */
  offendersKept?: number;
  onProgress?: (sent: number) => void;
}

export async function readiness(baseUrl: string): Promise<number | string> {
  try {
    return (await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(5000) })).status;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** Sends the requests `concurrency` at a time and collects every fault. */
export async function runFuzz(options: FuzzRunOptions): Promise<FuzzReport> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const timeoutMs = options.timeoutMs ?? 20_000;
  const offendersKept = options.offendersKept ?? 50;
  const report: FuzzReport = {
    sent: 0,
    durationMs: 0,
    countsByStatus: {},
    countsByOperation: {},
    offenders: [],
    offenderCount: 0,
    readinessFailures: [],
    readinessChecks: 0,
  };
  const startedAtMs = performance.now();
  const iterator = options.requests[Symbol.iterator]();
  let index = 0;
  let nextReadinessAt = options.readinessEvery;
  const checkReadiness = async () => {
    report.readinessChecks += 1;
    const status = await readiness(options.baseUrl);
    if (status !== 200) report.readinessFailures.push({ afterRequests: report.sent, status });
  };
  const worker = async () => {
    for (let next = iterator.next(); next.done !== true; next = iterator.next()) {
      const request = next.value;
      const requestIndex = index++;
      let answer: FuzzAnswer | undefined;
      let fault: string | undefined;
      try {
        answer = await sendFuzzRequest(options.baseUrl, request, agent, timeoutMs);
        fault = answerFault(answer);
      } catch (error) {
        fault = `no answer: ${error instanceof Error ? error.message : String(error)}`;
      }
      const statusKey = answer === undefined ? 'no answer' : String(answer.status);
      report.countsByStatus[statusKey] = (report.countsByStatus[statusKey] ?? 0) + 1;
      report.countsByOperation[request.operation] = (report.countsByOperation[request.operation] ?? 0) + 1;
      report.sent += 1;
      if (fault !== undefined) {
        report.offenderCount += 1;
        if (report.offenders.length < offendersKept) report.offenders.push({ index: requestIndex, request, fault, answer });
      }
      if (report.sent >= nextReadinessAt) {
        nextReadinessAt += options.readinessEvery;
        await checkReadiness();
      }
      options.onProgress?.(report.sent);
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    await checkReadiness();
  } finally {
    agent.destroy();
  }
  report.durationMs = performance.now() - startedAtMs;
  return report;
}

/** The offenders, each with its request and answer, for a failure message or a log. */
export function describeOffenders(report: FuzzReport, seed: number): string {
  const lines = report.offenders.map(
    (offender) =>
      `#${offender.index}: ${offender.fault}\n  ${describeRequest(offender.request)}${
        offender.answer === undefined ? '' : `\n  answer: ${offender.answer.status} ${offender.answer.contentType} ${offender.answer.bodyStart.slice(0, 300)}`
      }`,
  );
  const more = report.offenderCount > report.offenders.length ? `\n(and ${report.offenderCount - report.offenders.length} more)` : '';
  return `FUZZ_SEED=${seed}: ${report.offenderCount} of ${report.sent} requests answered wrongly\n${lines.join('\n')}${more}`;
}

/** FUZZ_SEED, or a fresh seed that the run prints so a failure can be drawn again. */
export function fuzzSeed(): number {
  const raw = process.env.FUZZ_SEED;
  if (raw === undefined || raw === '') return Math.floor(Math.random() * 2 ** 31);
  const seed = Number(raw);
  if (!Number.isInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, not '${raw}'`);
  return seed;
}

/** FUZZ_REQUESTS, or the given default. */
export function fuzzRequestCount(defaultCount: number): number {
  const raw = process.env.FUZZ_REQUESTS;
  if (raw === undefined || raw === '') return defaultCount;
  const count = Number(raw);
  if (!Number.isInteger(count) || count < 1) throw new Error(`FUZZ_REQUESTS must be a positive integer, not '${raw}'`);
  return count;
}
