import * as grpc from '@grpc/grpc-js';
import { DomainError, type ErrorKind, type FieldError } from '@lovepoints/errors';

/**
 * The one translation table between domain error kinds, gRPC status codes and HTTP statuses.
 * Services use it to answer, the gateway to turn a gRPC failure into problem+json.
 */
export const statusTable: Record<ErrorKind, { grpcStatus: grpc.status; httpStatus: number; title: string }> = {
  invalid_argument: { grpcStatus: grpc.status.INVALID_ARGUMENT, httpStatus: 400, title: 'Invalid input' },
  unauthenticated: { grpcStatus: grpc.status.UNAUTHENTICATED, httpStatus: 401, title: 'Not signed in' },
  permission_denied: { grpcStatus: grpc.status.PERMISSION_DENIED, httpStatus: 403, title: 'Not allowed' },
  not_found: { grpcStatus: grpc.status.NOT_FOUND, httpStatus: 404, title: 'Not found' },
  already_exists: { grpcStatus: grpc.status.ALREADY_EXISTS, httpStatus: 409, title: 'Already exists' },
  conflict: { grpcStatus: grpc.status.ABORTED, httpStatus: 409, title: 'Conflict' },
  business_rule: { grpcStatus: grpc.status.FAILED_PRECONDITION, httpStatus: 422, title: 'Refused by a business rule' },
  rate_limited: { grpcStatus: grpc.status.RESOURCE_EXHAUSTED, httpStatus: 429, title: 'Too many requests' },
  unavailable: { grpcStatus: grpc.status.UNAVAILABLE, httpStatus: 503, title: 'Service unavailable' },
  internal: { grpcStatus: grpc.status.INTERNAL, httpStatus: 500, title: 'Internal error' },
};

const errorCodeKey = 'x-error-code';
const errorKindKey = 'x-error-kind';
const fieldErrorsKey = 'x-error-fields-bin';

/** A DomainError as a gRPC error: status from the table, code and field errors in trailers. */
export function grpcErrorFromDomain(error: DomainError): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  metadata.set(errorCodeKey, error.code);
  metadata.set(errorKindKey, error.kind);
  if (error.fieldErrors.length > 0) metadata.set(fieldErrorsKey, Buffer.from(JSON.stringify(error.fieldErrors)));
  return { code: statusTable[error.kind].grpcStatus, details: error.message, metadata };
}

function kindForStatus(code: grpc.status): ErrorKind {
  switch (code) {
    case grpc.status.INVALID_ARGUMENT:
    case grpc.status.OUT_OF_RANGE:
      return 'invalid_argument';
    case grpc.status.UNAUTHENTICATED:
      return 'unauthenticated';
    case grpc.status.PERMISSION_DENIED:
      return 'permission_denied';
    case grpc.status.NOT_FOUND:
      return 'not_found';
    case grpc.status.ALREADY_EXISTS:
      return 'already_exists';
    case grpc.status.ABORTED:
      return 'conflict';
    case grpc.status.FAILED_PRECONDITION:
      return 'business_rule';
    case grpc.status.RESOURCE_EXHAUSTED:
      return 'rate_limited';
    case grpc.status.UNAVAILABLE:
    case grpc.status.DEADLINE_EXCEEDED:
    case grpc.status.CANCELLED:
      return 'unavailable';
    case grpc.status.OK:
    case grpc.status.UNKNOWN:
    case grpc.status.INTERNAL:
    case grpc.status.UNIMPLEMENTED:
    case grpc.status.DATA_LOSS:
      return 'internal';
  }
}

function isErrorKind(value: string): value is ErrorKind {
  return Object.hasOwn(statusTable, value);
}

/** A failed client call back as a DomainError, keeping the remote code and field errors. */
export function domainErrorFromGrpc(error: grpc.ServiceError): DomainError {
  const kindValue = error.metadata?.get(errorKindKey)[0];
  const kind = typeof kindValue === 'string' && isErrorKind(kindValue) ? kindValue : kindForStatus(error.code);
  const codeValue = error.metadata?.get(errorCodeKey)[0];
  const code = typeof codeValue === 'string' ? codeValue : kind;
  const fieldValue = error.metadata?.get(fieldErrorsKey)[0];
  let fieldErrors: FieldError[] = [];
  if (Buffer.isBuffer(fieldValue)) {
    try {
      fieldErrors = JSON.parse(fieldValue.toString('utf8')) as FieldError[];
    } catch {
      // A malformed trailer loses only the field detail; the status and message still stand.
      fieldErrors = [];
    }
  }
  return new DomainError(kind, code, error.details || error.message, fieldErrors);
}
