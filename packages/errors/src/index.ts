import type { z } from 'zod';

/**
 * What kind of refusal an error is. The edge translates each kind once (packages/grpc's
 * status table, then the gateway's HTTP table), so domain code never thinks about transports.
 */
export type ErrorKind =
  | 'invalid_argument'
  | 'unauthenticated'
  | 'permission_denied'
  | 'not_found'
  | 'already_exists'
  | 'conflict'
  | 'business_rule'
  | 'rate_limited'
  | 'unavailable'
  | 'internal';

/** One problem with one input field; `path` uses dots, e.g. `location.lat`. */
export interface FieldError {
  path: string;
  message: string;
}

/**
 * A refusal with a stable machine-readable `code` (e.g. `insufficient_balance`) that clients may
 * switch on, a `kind` that decides the transport status, and a sentence for people.
 */
export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    readonly fieldErrors: FieldError[] = [],
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export function invalidArgument(fieldErrors: FieldError[], message = 'The request has invalid fields.'): DomainError {
  return new DomainError('invalid_argument', 'invalid_argument', message, fieldErrors);
}

export function notFound(what: string): DomainError {
  return new DomainError('not_found', 'not_found', `${what} was not found.`);
}

export function permissionDenied(message = 'Your role or community does not allow this.'): DomainError {
  return new DomainError('permission_denied', 'permission_denied', message);
}

export function unauthenticated(message = 'Sign in first.'): DomainError {
  return new DomainError('unauthenticated', 'unauthenticated', message);
}

/** A refusal because of the current state (already decided, out of stock): 409. */
export function conflict(code: string, message: string): DomainError {
  return new DomainError('conflict', code, message);
}

/** A refusal by a business rule (closed shop, limit reached): 422. */
export function refused(code: string, message: string): DomainError {
  return new DomainError('business_rule', code, message);
}

/** Turns zod issues into field errors, with the paths of nested fields joined by dots. */
export function fieldErrorsFromZod(error: z.ZodError, pathPrefix = ''): FieldError[] {
  return error.issues.map((issue) => {
    const path = [pathPrefix, ...issue.path.map(String)].filter((part) => part !== '').join('.');
    return { path: path === '' ? '(root)' : path, message: issue.message };
  });
}

/** Parses untrusted input, throwing an `invalid_argument` DomainError that names every bad field. */
export function parseInput<Schema extends z.ZodType>(schema: Schema, input: unknown, pathPrefix = ''): z.output<Schema> {
  const result = schema.safeParse(input);
  if (!result.success) throw invalidArgument(fieldErrorsFromZod(result.error, pathPrefix));
  return result.data;
}
