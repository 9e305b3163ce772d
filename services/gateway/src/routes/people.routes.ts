import { applyVolunteerInput, createBuildingInput, createCommunityInput, createGridInput, grantRoleInput, updateGridInput } from '@lovepoints/contracts';
import { callUnary } from '@lovepoints/grpc';
import { z } from 'zod';
import { defineRoute } from '../http/route';
import { emptyToNull, idParams, pageOf, toUserView, userView } from './views';

const communityView = z.object({ id: z.string(), name: z.string(), street: z.string(), createdAt: z.string() });
const gridView = z.object({ id: z.string(), communityId: z.string(), name: z.string(), leaderUserId: z.string().nullable(), createdAt: z.string() });
const buildingView = z.object({ id: z.string(), gridId: z.string(), communityId: z.string(), name: z.string(), createdAt: z.string() });
const toGridView = <Grid extends { leaderUserId: string }>(grid: Grid) => ({ ...grid, leaderUserId: emptyToNull(grid.leaderUserId) });
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
    action: 'community.create',
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
    action: 'role.grant',
    params: idParams,
    body: grantRoleInput,
    successStatus: 200,
    response: userView,
    handler: async ({ params, body, caller }, context) =>
      toUserView(await callUnary(context.clients.volunteer, 'grantRole', { userId: params.id, role: body.role }, { caller, deadlineMs: context.deadlineMs })),
    audit: ({ body }, user) => ({ targetId: user.id, communityId: user.communityId ?? '', detail: { role: body.role } }),
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/volunteers',
    summary: 'Apply to become a volunteer (profile starts pending)',
    tag: 'volunteers',
    access: 'signed_in',
    action: 'volunteer.apply',
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
    action: 'volunteer.approve',
    params: idParams,
    successStatus: 200,
    response: profileView,
    handler: ({ params, caller }, context) =>
      callUnary(context.clients.volunteer, 'approveVolunteer', { profileId: params.id }, { caller, deadlineMs: context.deadlineMs }),
    audit: (_input, profile) => ({ targetId: profile.userId, communityId: profile.communityId, detail: { profileId: profile.id, role: 'volunteer' } }),
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/communities/:id/grids',
    summary: 'Create a grid (网格) in the community, optionally with its grid worker (an organizer of the community)',
    tag: 'communities',
    access: 'signed_in',
    action: 'place.manage',
    params: idParams,
    body: createGridInput,
    successStatus: 201,
    response: gridView,
    handler: async ({ params, body, caller }, context) =>
      toGridView(await callUnary(context.clients.volunteer, 'createGrid', { communityId: params.id, ...body }, { caller, deadlineMs: context.deadlineMs })),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/communities/:id/grids',
    summary: 'The grids of your community (street admins: of a community of their street), by name',
    tag: 'communities',
    access: 'signed_in',
    action: 'place.read',
    params: idParams,
    successStatus: 200,
    response: pageOf(gridView),
    handler: async ({ params, caller }, context) => {
      const { grids } = await callUnary(context.clients.volunteer, 'listGrids', { communityId: params.id }, { caller, deadlineMs: context.deadlineMs });
      return { items: grids.map(toGridView), nextCursor: null };
    },
  }),
  defineRoute({
    method: 'patch',
    path: '/api/v1/grids/:id',
    summary: 'Rename a grid or change its grid worker (null removes the worker)',
    tag: 'communities',
    access: 'signed_in',
    action: 'place.manage',
    params: idParams,
    body: updateGridInput,
    successStatus: 200,
    response: gridView,
    handler: async ({ params, body, caller }, context) => {
      const request = {
        gridId: params.id,
        ...(body.name === undefined ? {} : { name: body.name }),
        // null removes the leader; the gRPC request says that with a present empty string.
        ...(body.leaderUserId === undefined ? {} : { leaderUserId: body.leaderUserId ?? '' }),
      };
      return toGridView(await callUnary(context.clients.volunteer, 'updateGrid', request, { caller, deadlineMs: context.deadlineMs }));
    },
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/grids/:id/buildings',
    summary: 'Create a building or courtyard (楼栋/院落) in a grid',
    tag: 'communities',
    access: 'signed_in',
    action: 'place.manage',
    params: idParams,
    body: createBuildingInput,
    successStatus: 201,
    response: buildingView,
    handler: ({ params, body, caller }, context) =>
      callUnary(context.clients.volunteer, 'createBuilding', { gridId: params.id, ...body }, { caller, deadlineMs: context.deadlineMs }),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/grids/:id/buildings',
    summary: 'The buildings of a grid, by name',
    tag: 'communities',
    access: 'signed_in',
    action: 'place.read',
    params: idParams,
    successStatus: 200,
    response: pageOf(buildingView),
    handler: async ({ params, caller }, context) => {
      const { buildings } = await callUnary(context.clients.volunteer, 'listBuildings', { gridId: params.id }, { caller, deadlineMs: context.deadlineMs });
      return { items: buildings, nextCursor: null };
    },
  }),
];
