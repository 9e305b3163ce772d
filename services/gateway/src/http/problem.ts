import { DomainError, fieldErrorsFromZod } from '@lovepoints/errors';
import { statusTable } from '@lovepoints/grpc';
import type { Logger } from '@lovepoints/logging';
import type { ErrorRequestHandler, Response } from 'express';
import { z } from 'zod';
import { RateLimitedError } from './rate-limit';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code?: string;
  errors?: { path: string; message: string }[];
}

export function sendProblem(response: Response, problem: Problem): void {
  response.status(problem.status).type('application/problem+json').json(problem);
}

export function problemFromDomainError(error: DomainError): Problem {
  const entry = statusTable[error.kind];
  return {
    type: `https://lovepoints.example/problems/${error.code}`,
    title: entry.title,
    status: entry.httpStatus,
    detail: error.message,
    code: error.code,
    ...(error.fieldErrors.length > 0 ? { errors: error.fieldErrors } : {}),
  };
}

/**
 * An error express's own layers raised for a bad request: body-parser and the router mark theirs
 * (http-errors style) with a 4xx `status`; body-parser's own also carry a `type`, while a body
 * that does not decompress as its Content-Encoding says, or a path parameter that is not valid
 * percent-encoding (a URIError from the router), carries none.
 */
function requestErrorOf(error: unknown): { status: number; type: string | undefined } | undefined {
  if (typeof error !== 'object' || error === null || !('status' in error)) return undefined;
  const { status, type } = error as { status: unknown; type?: unknown };
  if (typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  return { status, type: typeof type === 'string' ? type : undefined };
}

const malformedTitles = { malformed_path: 'Malformed path', malformed_body: 'Malformed body' } as const;

/** A request the gateway cannot even read: which part, and why. */
function malformedRequest(code: keyof typeof malformedTitles, detail: string, error: { path: string; message: string }): Problem {
  return { type: `https://lovepoints.example/problems/${code}`, title: malformedTitles[code], status: 400, detail, code, errors: [error] };
}

/**
 * The one place an error becomes an HTTP answer: domain and remote errors by the shared status
 * table, a request that cannot be read (its body or path) as 400/413, anything unexpected as a
 * logged 500 without details.
 */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, request, response, _next) => {
    if (error instanceof DomainError) {
      if (error instanceof RateLimitedError) response.set('Retry-After', String(error.retryAfterSeconds));
      sendProblem(response, problemFromDomainError(error));
      return;
    }
    if (error instanceof z.ZodError) {
      sendProblem(response, {
        type: 'https://lovepoints.example/problems/invalid_argument',
        title: 'Invalid input',
        status: 400,
        detail: 'The request has invalid fields.',
        code: 'invalid_argument',
        errors: fieldErrorsFromZod(error),
      });
      return;
    }
    const requestError = requestErrorOf(error);
    if (error instanceof URIError && requestError !== undefined) {
      sendProblem(
        response,
        malformedRequest('malformed_path', 'The path has a parameter that is not valid percent-encoding.', {
          path: '(path)',
          message: 'not valid percent-encoding',
        }),
      );
      return;
    }
    if (requestError !== undefined && requestError.type === undefined) {
      sendProblem(
        response,
        malformedRequest('malformed_body', 'The request body could not be decoded as its Content-Encoding says.', {
          path: '(body)',
          message: 'not decodable with the given Content-Encoding',
        }),
      );
      return;
    }
    if (requestError !== undefined) {
      if (requestError.type === 'entity.too.large') {
        sendProblem(response, {
          type: 'https://lovepoints.example/problems/body_too_large',
          title: 'Body too large',
          status: 413,
          detail: 'The request body is larger than allowed.',
          code: 'body_too_large',
        });
        return;
      }
      sendProblem(response, malformedRequest('malformed_body', 'The request body is not valid JSON.', { path: '(body)', message: 'not valid JSON' }));
      return;
    }
    logger.error({ err: error, method: request.method, path: request.path }, 'unhandled error');
    sendProblem(response, { type: 'about:blank', title: 'Internal error', status: 500, detail: 'Something went wrong on our side.' });
  };
}
