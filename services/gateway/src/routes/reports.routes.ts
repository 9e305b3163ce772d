import { acceptReportInput, fileReportInput, rejectReportInput, reportStatus } from '@lovepoints/contracts';
import { callUnary } from '@lovepoints/grpc';
import { z } from 'zod';
import { defineRoute } from '../http/route';
import { idParams, pageOf } from './views';

const reportView = z.object({
  id: z.string(),
  communityId: z.string(),
  reporterUserId: z.string(),
  category: z.string(),
  text: z.string(),
  address: z.string(),
  photoUrl: z.string(),
  status: z.enum(['open', 'accepted', 'rejected']),
  level: z.enum(['grid', 'community', 'street']),
  deadlineAt: z.string(),
  createdAt: z.string(),
  decisionNote: z.string(),
});

type ReportView = z.output<typeof reportView>;
const asView = (report: { status: string; level: string } & Omit<ReportView, 'status' | 'level'>) => report as ReportView;

export const reportRoutes = [
  defineRoute({
    method: 'post',
    path: '/api/v1/reports',
    summary: 'Report a problem in your community (我有事要说); unanswered reports move up grid → community → street',
    tag: 'reports',
    access: 'signed_in',
    body: fileReportInput,
    successStatus: 201,
    response: reportView,
    handler: async ({ body, caller }, context) =>
      asView(await callUnary(context.clients.volunteer, 'fileReport', body, { caller, deadlineMs: context.deadlineMs })),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/reports',
    summary: 'Your reports; organizers see their community’s, street admins those escalated in their street',
    tag: 'reports',
    access: 'signed_in',
    query: z.object({ status: reportStatus.optional() }),
    successStatus: 200,
    response: pageOf(reportView),
    handler: async ({ query, caller }, context) => {
      const { reports } = await callUnary(context.clients.volunteer, 'listReports', { status: query.status ?? '' }, { caller, deadlineMs: context.deadlineMs });
      return { items: reports.map(asView), nextCursor: null };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/reports/:id/accept',
    summary: 'Accept a report; the reporter is awarded points (the given number, or the community’s report points)',
    tag: 'reports',
    access: 'signed_in',
    roles: ['organizer', 'street_admin'],
    params: idParams,
    body: acceptReportInput,
    successStatus: 200,
    response: reportView,
    handler: async ({ params, body, caller }, context) =>
      asView(await callUnary(context.clients.volunteer, 'acceptReport', { reportId: params.id, ...body }, { caller, deadlineMs: context.deadlineMs })),
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/reports/:id/reject',
    summary: 'Reject a report, with a reason for the reporter',
    tag: 'reports',
    access: 'signed_in',
    roles: ['organizer', 'street_admin'],
    params: idParams,
    body: rejectReportInput,
    successStatus: 200,
    response: reportView,
    handler: async ({ params, body, caller }, context) =>
      asView(await callUnary(context.clients.volunteer, 'rejectReport', { reportId: params.id, ...body }, { caller, deadlineMs: context.deadlineMs })),
  }),
];
