import { createServiceRequestInput, listServiceRequestsInput } from '@lovepoints/contracts';
import { parseInput } from '@lovepoints/errors';
import type { AsyncHandlers, timebankV1 } from '@lovepoints/grpc';
import type { TimebankService } from '../timebank.service';

export function timebankHandlers(service: TimebankService): AsyncHandlers<timebankV1.TimebankServiceHandlers> {
  return {
    CreateRequest: (request, caller) =>
      service.createRequest(
        caller,
        parseInput(createServiceRequestInput, { ...request, beneficiaryUserId: request.beneficiaryUserId === '' ? undefined : request.beneficiaryUserId }),
      ),
    ListRequests: (request, caller) =>
      service.listRequests(caller, parseInput(listServiceRequestsInput, { status: request.status === '' ? undefined : request.status })),
  };
}
