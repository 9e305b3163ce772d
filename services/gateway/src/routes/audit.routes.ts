import { dateTime, identifier, pageCursor, pageLimit } from '@lovepoints/contracts';
import { notFound } from '@lovepoints/errors';
import { actions, authorize, callUnary } from '@lovepoints/grpc';
import { z } from 'zod';
import type { AuditReach } from '../audit/audit-log';
import { defineRoute } from '../http/route';

const auditEntryView = z.object({
  id: z.string(),
  at: z.string(),
  action: z.string().describe('the policy action, e.g. points.award'),
  actorUserId: z.string(),
  actorRoles: z.array(z.string()),
  communityId: z.string().nullable(),
  street: z.string(),
  targetId: z.string().describe('the record acted on: a user, an activity, a report, a shop, an order'),
  requestId: z.string().describe('the x-request-id of the request, as in the gateway log'),
  method: z.string(),
  path: z.string(),
  detail: z.record(z.string(), z.unknown()).describe('amounts, reasons, corrections'),
});

export const auditRoutes = [
  defineRoute({
    method: 'get',
    path: '/api/v1/audit',
    summary:
      'Privileged actions (role grants, awards, attendance corrections and manual check-ins/outs, earning rules, report decisions, shops, settlements, dispute decisions), newest first: a street admin’s street, an organizer’s community',
    tag: 'audit',
    access: 'signed_in',
    action: 'audit.read',
    query: z.object({
      from: dateTime.optional(),
      to: dateTime.optional(),
      action: z.enum(actions).optional(),
      communityId: identifier.optional(),
      cursor: pageCursor,
      limit: pageLimit,
    }),
    successStatus: 200,
    response: z.object({ items: z.array(auditEntryView), nextCursor: z.string().nullable() }),
    handler: async ({ query, caller }, context) => {
      const known = authorize(caller, 'audit.read');
      if (query.communityId !== undefined) {
        // Another street's or another community's id is as unknown as an id that does not exist.
        const { communities } = await callUnary(context.clients.volunteer, 'listCommunities', { street: known.street }, { deadlineMs: context.deadlineMs });
        const community = communities.find((candidate) => candidate.id === query.communityId);
        if (community === undefined) throw notFound('The community');
        authorize(known, 'audit.read', { communityId: community.id, street: community.street, what: 'The community' });
      }
      const reach: AuditReach = known.roles.includes('street_admin') ? { street: known.street } : { communityId: known.communityId };
      return context.audit.list(reach, { ...query, cursor: query.cursor === '' ? undefined : query.cursor });
    },
  }),
];
