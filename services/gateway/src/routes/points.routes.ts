import { identifier } from '@lovepoints/contracts';
import { permissionDenied } from '@lovepoints/errors';
import { callUnary } from '@lovepoints/grpc';
import { z } from 'zod';
import { defineRoute } from '../http/route';

export const pointsRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/v1/points/balance',
    summary: 'Spendable and held love points and service minutes (own; organizers may pass userId)',
    tag: 'points',
    access: 'signed_in',
    query: z.object({ userId: identifier.optional() }),
    successStatus: 200,
    response: z.object({ points: z.number().int(), timeMinutes: z.number().int(), heldPoints: z.number().int(), heldMinutes: z.number().int() }),
    handler: async ({ query, caller }, context) => {
      const userId = query.userId ?? caller?.userId ?? '';
      if (userId !== caller?.userId) {
        if (!caller?.roles.includes('organizer') && !caller?.roles.includes('street_admin'))
          throw permissionDenied('Only organizers can read another member’s balance.');
        // Visibility is the volunteer service's to judge: a member of another community is a 404.
        await callUnary(context.clients.volunteer, 'getUser', { userId }, { caller, deadlineMs: context.deadlineMs });
      }
      const balance = await callUnary(context.clients.points, 'getBalance', { userId }, { caller, deadlineMs: context.deadlineMs });
      return { points: balance.points, timeMinutes: balance.timeMinutes, heldPoints: balance.heldPoints, heldMinutes: balance.heldMinutes };
    },
  }),
];
