import { applyVolunteerInput, createCommunityInput, grantRoleInput } from '@lovepoints/contracts';
import { callUnary } from '@lovepoints/grpc';
import { z } from 'zod';
import { defineRoute } from '../http/route';
import { idParams, pageOf, toUserView, userView } from './views';

const communityView = z.object({ id: z.string(), name: z.string(), street: z.string(), createdAt: z.string() });
const profileView = z.object({
  id: z.string(),
  userId: z.string(),
  realName: z.string(),
  skills: z.array(z.string()),
  status: z.string(),
  communityId: z.string(),
  idNumberLast4: z.string().describe('the ID number itself is never stored or shown'),
});

export const peopleRoutes = [
  defineRoute({
    method: 'post',
    path: '/api/v1/communities',
    summary: 'Create a community in the admin’s street',
    tag: 'communities',
    access: 'signed_in',
    roles: ['street_admin'],
    body: createCommunityInput,
    successStatus: 201,
    response: communityView,
    handler: ({ body, caller }, context) => callUnary(context.clients.volunteer, 'createCommunity', body, { caller, deadlineMs: context.deadlineMs }),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/communities',
    // Public, unlike most reads: a newcomer needs a community id to register at all.
    summary: 'List communities (public, so that newcomers can pick one to register in)',
    tag: 'communities',
    access: 'public',
    query: z.object({ street: z.string().max(50).optional() }),
    successStatus: 200,
    response: pageOf(communityView),
    handler: async ({ query }, context) => {
      const { communities } = await callUnary(context.clients.volunteer, 'listCommunities', { street: query.street ?? '' }, { deadlineMs: context.deadlineMs });
      return { items: communities, nextCursor: null };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/users/:id/roles',
    summary: 'Grant a role to a user of the caller’s community or street',
    tag: 'communities',
    access: 'signed_in',
    roles: ['organizer', 'street_admin'],
    params: idParams,
    body: grantRoleInput,
    successStatus: 200,
    response: userView,
    handler: async ({ params, body, caller }, context) =>
      toUserView(await callUnary(context.clients.volunteer, 'grantRole', { userId: params.id, role: body.role }, { caller, deadlineMs: context.deadlineMs })),
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/volunteers',
    summary: 'Apply to become a volunteer (profile starts pending)',
    tag: 'volunteers',
    access: 'signed_in',
    body: applyVolunteerInput,
    successStatus: 201,
    response: profileView,
    handler: ({ body, caller }, context) => callUnary(context.clients.volunteer, 'applyVolunteer', body, { caller, deadlineMs: context.deadlineMs }),
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/volunteers/:id/approve',
    summary: 'Approve a volunteer profile; the user gains the volunteer role (effective at their next token refresh)',
    tag: 'volunteers',
    access: 'signed_in',
    roles: ['organizer', 'street_admin'],
    params: idParams,
    successStatus: 200,
    response: profileView,
    handler: ({ params, caller }, context) =>
      callUnary(context.clients.volunteer, 'approveVolunteer', { profileId: params.id }, { caller, deadlineMs: context.deadlineMs }),
  }),
];
