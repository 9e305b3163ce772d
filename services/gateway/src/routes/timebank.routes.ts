import { createServiceRequestInput, listServiceRequestsInput } from '@lovepoints/contracts';
import { callUnary } from '@lovepoints/grpc';
import { z } from 'zod';
import { defineRoute } from '../http/route';
import { pageOf } from './views';

const requestView = z.object({
  id: z.string(),
  communityId: z.string(),
  requesterUserId: z.string(),
  beneficiaryUserId: z.string(),
  category: z.string(),
  description: z.string(),
  startAt: z.string(),
  minutes: z.number(),
  status: z.string(),
  createdAt: z.string(),
});

export const timebankRoutes = [
  defineRoute({
    method: 'post',
    path: '/api/v1/timebank/requests',
    summary: 'Ask for home help paid with stored service time',
    tag: 'timebank',
    access: 'signed_in',
    body: createServiceRequestInput,
    successStatus: 201,
    response: requestView,
    handler: ({ body, caller }, context) =>
      callUnary(
        context.clients.timebank,
        'createRequest',
        { ...body, beneficiaryUserId: body.beneficiaryUserId ?? '' },
        { caller, deadlineMs: context.deadlineMs },
      ),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/timebank/requests',
    summary: 'Service orders of your community',
    tag: 'timebank',
    access: 'signed_in',
    query: listServiceRequestsInput,
    successStatus: 200,
    response: pageOf(requestView),
    handler: async ({ query, caller }, context) => {
      const { requests } = await callUnary(
        context.clients.timebank,
        'listRequests',
        { status: query.status ?? '' },
        { caller, deadlineMs: context.deadlineMs },
      );
      return { items: requests, nextCursor: null };
    },
  }),
];
