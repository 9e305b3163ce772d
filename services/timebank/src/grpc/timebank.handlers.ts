import {
  approveFamilyLinkInput,
  assignServiceRequestInput,
  cancelServiceRequestInput,
  completeServiceRequestInput,
  createFamilyLinkInput,
  createServiceRequestInput,
  dateTime,
  disputeServiceRequestInput,
  donateInput,
  identifier,
  listServiceRequestsInput,
  pageCursor,
  pageLimit,
  rateServiceRequestInput,
  resolveDisputeInput,
  setBeneficiaryInput,
} from '@lovepoints/contracts';
import { parseInput } from '@lovepoints/errors';
import { type AsyncHandlers, requireServiceCaller, type timebankV1 } from '@lovepoints/grpc';
import { z } from 'zod';
import type { FamilyService } from '../family.service';
import type { OrderService } from '../order.service';

/** proto3 sends absent strings as '' and absent numbers as 0; optional fields treat that as "not given". */
const optional = <Value>(value: Value) => (value === '' || value === 0 ? undefined : value);
const orderId = (request: { requestId: string }) => parseInput(identifier, request.requestId, 'requestId');
const requestKey = (request: { idempotencyKey: string }) => parseInput(z.string().max(100), request.idempotencyKey, 'idempotencyKey');

/** Thin transport: parse with the shared contract schemas, call the services, return their views. */
export function timebankHandlers(orders: OrderService, family: FamilyService): AsyncHandlers<timebankV1.TimebankServiceHandlers> {
  return {
    CreateRequest: (request, caller) =>
      orders.createRequest(
        caller,
        parseInput(createServiceRequestInput, { ...request, beneficiaryUserId: optional(request.beneficiaryUserId), acceptBy: optional(request.acceptBy) }),
      ),
    ListRequests: (request, caller) => orders.listRequests(caller, parseInput(listServiceRequestsInput, { status: optional(request.status) })),
    GetRequest: (request, caller) => orders.getRequest(caller, orderId(request)),
    AcceptRequest: (request, caller) => orders.acceptRequest(caller, orderId(request), requestKey(request)),
    AssignRequest: (request, caller) =>
      orders.assignRequest(caller, orderId(request), parseInput(assignServiceRequestInput, request).volunteerUserId, requestKey(request)),
    DeclineRequest: (request, caller) => orders.declineRequest(caller, orderId(request)),
    StartRequest: (request, caller) => orders.startRequest(caller, orderId(request)),
    CompleteRequest: (request, caller) => orders.completeRequest(caller, orderId(request), parseInput(completeServiceRequestInput, request).actualMinutes),
    ConfirmRequest: (request, caller) => orders.confirmRequest(caller, orderId(request), requestKey(request)),
    DisputeRequest: (request, caller) => orders.disputeRequest(caller, orderId(request), parseInput(disputeServiceRequestInput, request).reason),
    ResolveDispute: (request, caller) =>
      orders.resolveDispute(caller, orderId(request), parseInput(resolveDisputeInput, { ...request, minutes: optional(request.minutes) }), requestKey(request)),
    RateRequest: (request, caller) => orders.rateRequest(caller, orderId(request), parseInput(rateServiceRequestInput, request)),
    CancelRequest: (request, caller) =>
      orders.cancelRequest(caller, orderId(request), parseInput(cancelServiceRequestInput, request).reason, requestKey(request)),
    EscalateOverdueOrders: (request, caller) => {
      requireServiceCaller(caller, 'Escalation sweeps');
      const asOf = parseInput(dateTime.optional(), optional(request.asOf), 'asOf');
      return orders.escalateOverdue(asOf === undefined ? new Date() : new Date(asOf));
    },
    GetVolunteerReputation: (request, caller) => family.reputation(caller, parseInput(identifier, request.userId, 'userId')),
    CreateFamilyLink: (request, caller) => family.createLink(caller, parseInput(createFamilyLinkInput, request)),
    ApproveFamilyLink: (request, caller) =>
      family.approveLink(caller, parseInput(identifier, request.linkId, 'linkId'), parseInput(approveFamilyLinkInput, request).relativePays),
    RevokeFamilyLink: (request, caller) => family.revokeLink(caller, parseInput(identifier, request.linkId, 'linkId')),
    ListFamilyLinks: (_request, caller) => family.listLinks(caller),
    Donate: (request, caller) =>
      family.donate(caller, { ...parseInput(donateInput, request), donationId: parseInput(identifier, request.donationId, 'donationId') }),
    GetPoolStatement: (request, caller) =>
      family.poolStatement(caller, parseInput(z.object({ limit: pageLimit, cursor: pageCursor }), { limit: optional(request.limit), cursor: request.cursor })),
    SetBeneficiary: (request, caller) =>
      family.setBeneficiary(
        caller,
        parseInput(identifier, request.userId, 'userId'),
        parseInput(setBeneficiaryInput, { poolEligible: request.poolEligible, birthDate: optional(request.birthDate) }),
      ),
  };
}
