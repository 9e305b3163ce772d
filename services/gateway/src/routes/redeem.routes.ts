import { createShopInput } from '@lovepoints/contracts';
import { DomainError } from '@lovepoints/errors';
import { callUnary } from '@lovepoints/grpc';
import { z } from 'zod';
import { defineRoute } from '../http/route';
import { pageOf } from './views';

const shopView = z.object({ id: z.string(), communityId: z.string(), name: z.string(), ownerUserId: z.string(), status: z.string(), createdAt: z.string() });

export const redeemRoutes = [
  defineRoute({
    method: 'post',
    path: '/api/v1/shops',
    summary: 'Open a love-points supermarket shop; the owner gains the shopkeeper role',
    tag: 'supermarket',
    access: 'signed_in',
    roles: ['organizer'],
    body: createShopInput,
    successStatus: 201,
    response: shopView,
    handler: async ({ body, caller }, context) => {
      const options = { caller, deadlineMs: context.deadlineMs };
      // The owner must be a member of the organizer's own community; anyone else is "not found".
      const owner = await callUnary(context.clients.volunteer, 'getUser', { userId: body.ownerUserId }, options);
      if (owner.communityId !== caller?.communityId) {
        throw new DomainError('not_found', 'not_found', 'The owner was not found in your community.', [
          { path: 'ownerUserId', message: 'not a member of your community' },
        ]);
      }
      const shop = await callUnary(context.clients.redeem, 'createShop', body, options);
      await callUnary(context.clients.volunteer, 'grantRole', { userId: body.ownerUserId, role: 'shopkeeper' }, options);
      return shop;
    },
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/shops',
    summary: 'Shops of your community',
    tag: 'supermarket',
    access: 'signed_in',
    successStatus: 200,
    response: pageOf(shopView),
    handler: async ({ caller }, context) => {
      const { shops } = await callUnary(context.clients.redeem, 'listShops', {}, { caller, deadlineMs: context.deadlineMs });
      return { items: shops, nextCursor: null };
    },
  }),
];
