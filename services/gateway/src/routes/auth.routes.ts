import { loginInput, registerInput, updateMyPlaceInput } from '@lovepoints/contracts';
import { callUnary } from '@lovepoints/grpc';
import { z } from 'zod';
import { DomainError } from '@lovepoints/errors';
import { defineRoute } from '../http/route';
import { sessionView, toUserView, tokensView, userView } from './views';

const refreshInput = z.object({ refreshToken: z.string().min(1, 'required').max(2000) });

export const authRoutes = [
  defineRoute({
    method: 'post',
    path: '/api/v1/auth/register',
    summary: 'Register as a resident of a community',
    tag: 'auth',
    access: 'public',
    body: registerInput,
    successStatus: 201,
    response: sessionView,
    handler: async ({ body }, context) => {
      const user = await callUnary(context.clients.volunteer, 'registerUser', body, { deadlineMs: context.deadlineMs });
      return { user: toUserView(user), ...(await context.sessions.start(user)) };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/auth/login',
    summary: 'Sign in with phone and password',
    tag: 'auth',
    access: 'public',
    body: loginInput,
    successStatus: 200,
    response: sessionView,
    handler: async ({ body }, context) => {
      await context.loginGuard.assertOpen(body.phone);
      try {
        const user = await callUnary(context.clients.volunteer, 'verifyCredentials', body, { deadlineMs: context.deadlineMs });
        await context.loginGuard.recordSuccess(body.phone);
        return { user: toUserView(user), ...(await context.sessions.start(user)) };
      } catch (error) {
        if (error instanceof DomainError && error.kind === 'unauthenticated') await context.loginGuard.recordFailure(body.phone);
        throw error;
      }
    },
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/auth/refresh',
    summary: 'Exchange a refresh token for new tokens, once (roles are re-read; a reused token ends that sign-in everywhere)',
    tag: 'auth',
    access: 'public',
    body: refreshInput,
    successStatus: 200,
    response: tokensView,
    handler: async ({ body }, context) =>
      context.sessions.rotate(body.refreshToken, async (userId) => {
        // Reading the user as themselves: the volunteer service lets a user read their own record.
        const self = { userId, roles: [], communityId: '', street: '' };
        return callUnary(context.clients.volunteer, 'getUser', { userId }, { caller: self, deadlineMs: context.deadlineMs });
      }),
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/auth/logout',
    summary: 'End a sign-in: its refresh token and every token rotated from it stop working',
    tag: 'auth',
    access: 'public',
    body: refreshInput,
    successStatus: 204,
    handler: async ({ body }, context) => {
      await context.sessions.logout(body.refreshToken);
    },
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/me',
    summary: 'The signed-in user',
    tag: 'auth',
    access: 'signed_in',
    action: 'account.manage',
    successStatus: 200,
    response: userView,
    handler: async ({ caller }, context) => {
      const user = await callUnary(context.clients.volunteer, 'getUser', { userId: caller?.userId ?? '' }, { caller, deadlineMs: context.deadlineMs });
      return toUserView(user);
    },
  }),
  defineRoute({
    method: 'patch',
    path: '/api/v1/me',
    summary: 'Say where you live in your community: a grid, and a building in it (null removes; a building alone implies its grid)',
    tag: 'auth',
    access: 'signed_in',
    action: 'account.manage',
    body: updateMyPlaceInput,
    successStatus: 200,
    response: userView,
    handler: async ({ body, caller }, context) => {
      // null removes; the gRPC request says that with a present empty string.
      const request = {
        ...(body.gridId === undefined ? {} : { gridId: body.gridId ?? '' }),
        ...(body.buildingId === undefined ? {} : { buildingId: body.buildingId ?? '' }),
      };
      return toUserView(await callUnary(context.clients.volunteer, 'updateMyPlace', request, { caller, deadlineMs: context.deadlineMs }));
    },
  }),
];
