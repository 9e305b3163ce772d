import { addTeamMemberInput, changeTeamLeaderInput, createTeamInput, identifier } from '@lovepoints/contracts';
import { callUnary } from '@lovepoints/grpc';
import { z } from 'zod';
import { defineRoute } from '../http/route';
import { idParams, pageOf } from './views';

const teamView = z.object({
  id: z.string(),
  communityId: z.string(),
  name: z.string(),
  description: z.string(),
  leaderUserId: z.string(),
  memberCount: z.number().int(),
  createdAt: z.string(),
});
const memberView = z.object({ teamId: z.string(), userId: z.string(), name: z.string(), role: z.enum(['leader', 'member']), joinedAt: z.string() });

export const teamRoutes = [
  defineRoute({
    method: 'post',
    path: '/api/v1/teams',
    summary: 'Form a volunteer team (服务队) in your community, led by one of its volunteers',
    tag: 'teams',
    access: 'signed_in',
    action: 'team.create',
    body: createTeamInput,
    successStatus: 201,
    response: teamView,
    handler: ({ body, caller }, context) => callUnary(context.clients.volunteer, 'createTeam', body, { caller, deadlineMs: context.deadlineMs }),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/teams',
    summary: 'The teams of your community (street admins: of the community given), by name',
    tag: 'teams',
    access: 'signed_in',
    action: 'team.read',
    query: z.object({ communityId: identifier.optional() }),
    successStatus: 200,
    response: pageOf(teamView),
    handler: async ({ query, caller }, context) => {
      const { teams } = await callUnary(
        context.clients.volunteer,
        'listTeams',
        { communityId: query.communityId ?? '' },
        { caller, deadlineMs: context.deadlineMs },
      );
      return { items: teams, nextCursor: null };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/teams/:id/members',
    summary: 'Join a team (no userId), or add a volunteer of the community to it (its leader, organizers)',
    tag: 'teams',
    access: 'signed_in',
    action: 'team.membership',
    params: idParams,
    body: addTeamMemberInput,
    successStatus: 201,
    response: memberView,
    handler: ({ params, body, caller }, context) =>
      callUnary(context.clients.volunteer, 'addTeamMember', { teamId: params.id, userId: body.userId ?? '' }, { caller, deadlineMs: context.deadlineMs }),
  }),
  defineRoute({
    method: 'delete',
    path: '/api/v1/teams/:id/members/:userId',
    summary: 'Leave a team (your own id, or `me`), or remove a member (its leader, organizers); the leader stays',
    tag: 'teams',
    access: 'signed_in',
    action: 'team.membership',
    params: z.object({ id: idParams.shape.id, userId: identifier }),
    successStatus: 204,
    handler: ({ params, caller }, context) =>
      callUnary(
        context.clients.volunteer,
        'removeTeamMember',
        { teamId: params.id, userId: params.userId === 'me' ? '' : params.userId },
        { caller, deadlineMs: context.deadlineMs },
      ),
  }),
  defineRoute({
    method: 'patch',
    path: '/api/v1/teams/:id',
    summary: 'Hand a team to another volunteer of the community (organizers); the old leader stays as a member',
    tag: 'teams',
    access: 'signed_in',
    action: 'team.lead',
    params: idParams,
    body: changeTeamLeaderInput,
    successStatus: 200,
    response: teamView,
    handler: ({ params, body, caller }, context) =>
      callUnary(
        context.clients.volunteer,
        'changeTeamLeader',
        { teamId: params.id, leaderUserId: body.leaderUserId },
        { caller, deadlineMs: context.deadlineMs },
      ),
    audit: ({ body }, team) => ({ targetId: team.id, communityId: team.communityId, detail: { leaderUserId: body.leaderUserId } }),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/teams/:id/members',
    summary: 'The members of a team, leader first, then by joining time',
    tag: 'teams',
    access: 'signed_in',
    action: 'team.read',
    params: idParams,
    successStatus: 200,
    response: pageOf(memberView),
    handler: async ({ params, caller }, context) => {
      const { members } = await callUnary(context.clients.volunteer, 'listTeamMembers', { teamId: params.id }, { caller, deadlineMs: context.deadlineMs });
      return { items: members, nextCursor: null };
    },
  }),
];
