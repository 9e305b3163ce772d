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

function isBodyParserError(error: unknown): error is { type: string; status: number } {
  return typeof error === 'object' && error !== null && 'type' in error && 'status' in error && typeof (error as { type: unknown }).type === 'string';
}

/**
 * The one place an error becomes an HTTP answer: domain and remote errors by the shared status
 * table, body-parser errors as 400/413, anything unexpected as a logged 500 without details.
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
    if (isBodyParserError(error)) {
      if (error.type === 'entity.too.large') {
        sendProblem(response, {
          type: 'https://lovepoints.example/problems/body_too_large',
          title: 'Body too large',
          status: 413,
          detail: 'The request body is larger than allowed.',
          code: 'body_too_large',
        });
        return;
      }
      if (error.status >= 400 && error.status < 500) {
        sendProblem(response, {
          type: 'https://lovepoints.example/problems/malformed_body',
          title: 'Malformed body',
          status: 400,
          detail: 'The request body is not valid JSON.',
          code: 'malformed_body',
          errors: [{ path: '(body)', message: 'not valid JSON' }],
        });
        return;
      }
    }
    logger.error({ err: error, method: request.method, path: request.path }, 'unhandled error');
    sendProblem(response, { type: 'about:blank', title: 'Internal error', status: 500, detail: 'Something went wrong on our side.' });
  };
}
