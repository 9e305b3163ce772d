import { DomainError, permissionDenied, unauthenticated } from '@lovepoints/errors';
import type { Caller } from '@lovepoints/grpc';
import { randomUUID } from 'node:crypto';
import type { ServiceRequestDocument, TimebankModels } from './store/models';

function requestView(request: ServiceRequestDocument) {
  return {
    id: request._id,
    communityId: request.communityId,
    requesterUserId: request.requesterUserId,
    beneficiaryUserId: request.beneficiaryUserId,
    category: request.category,
    description: request.description,
    startAt: request.startAt.toISOString(),
    minutes: request.minutes,
    status: request.status,
    createdAt: request.createdAt.toISOString(),
  };
}

/**
 * The time bank. This first slice takes and lists service orders; the five steps, family links,
 * the donation pool and hour payments follow (issue 6).
 */
export class TimebankService {
  constructor(
    private readonly models: TimebankModels,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async createRequest(
    caller: Caller | undefined,
    input: { category: string; description: string; startAt: string; minutes: number; beneficiaryUserId?: string | undefined },
  ) {
    if (caller === undefined) throw unauthenticated();
    if (caller.communityId === '') throw permissionDenied('Only members of a community can ask for service.');
    const startAt = new Date(input.startAt);
    if (startAt.getTime() <= this.now().getTime()) {
      throw new DomainError('invalid_argument', 'start_in_past', 'The service must start in the future.', [
        { path: 'startAt', message: 'must be in the future' },
      ]);
    }
    // Asking on behalf of someone else needs an approved family link (issue 6); until links
    // exist, the beneficiary can only be the requester.
    if (input.beneficiaryUserId !== undefined && input.beneficiaryUserId !== caller.userId) {
      throw new DomainError('business_rule', 'not_linked', 'You can ask for service for yourself or for a linked relative only.');
    }
    const request = await this.models.requests.create({
      _id: randomUUID(),
      communityId: caller.communityId,
      requesterUserId: caller.userId,
      beneficiaryUserId: caller.userId,
      category: input.category,
      description: input.description,
      startAt,
      minutes: input.minutes,
      status: 'open',
    });
    return requestView(request.toObject());
  }

  async listRequests(caller: Caller | undefined, input: { status?: string | undefined }) {
    if (caller === undefined) throw unauthenticated();
    const requests = await this.models.requests
      .find({ communityId: caller.communityId, ...(input.status === undefined ? {} : { status: input.status }) })
      .sort({ createdAt: -1 })
      .limit(100)
      .lean();
    return { requests: requests.map(requestView) };
  }
}
