import { acceptReportInput, fileReportInput, listReportsInput, rejectReportInput } from '@lovepoints/contracts';
import { callUnary } from '@lovepoints/grpc';
import { z } from 'zod';
import { defineRoute } from '../http/route';
import { emptyToNull, idParams, pageOf } from './views';

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
  gridId: z.string().nullable().describe('the grid it concerns; null: it started at community level'),
});

type ReportView = z.output<typeof reportView>;
const asView = (report: { status: string; level: string; gridId: string } & Omit<ReportView, 'status' | 'level' | 'gridId'>) =>
  ({ ...report, gridId: emptyToNull(report.gridId) }) as ReportView;

export const reportRoutes = [
  defineRoute({
    method: 'post',
    path: '/api/v1/reports',
    summary:
      'Report a problem in your community (我有事要说), about your grid or the one named; unanswered reports move up grid → community → street (without a grid they start at the community)',
    tag: 'reports',
    access: 'signed_in',
    action: 'report.file',
    body: fileReportInput,
    successStatus: 201,
    response: reportView,
    handler: async ({ body, caller }, context) =>
      asView(await callUnary(context.clients.volunteer, 'fileReport', body, { caller, deadlineMs: context.deadlineMs })),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/reports',
    summary:
      'Your reports; organizers see their community’s, street admins their street’s (narrow by communityId), each filterable by grid and by the level now answering',
    tag: 'reports',
    access: 'signed_in',
    action: 'report.read',
    query: listReportsInput,
    successStatus: 200,
    response: pageOf(reportView),
    handler: async ({ query, caller }, context) => {
      const request = { status: query.status ?? '', communityId: query.communityId ?? '', gridId: query.gridId ?? '', level: query.level ?? '' };
      const { reports } = await callUnary(context.clients.volunteer, 'listReports', request, { caller, deadlineMs: context.deadlineMs });
      return { items: reports.map(asView), nextCursor: null };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/reports/:id/accept',
    summary: 'Accept a report; the reporter is awarded points (the given number, or the community’s report points)',
    tag: 'reports',
    access: 'signed_in',
    action: 'report.decide',
    params: idParams,
    body: acceptReportInput,
    successStatus: 200,
    response: reportView,
    handler: async ({ params, body, caller }, context) =>
      asView(await callUnary(context.clients.volunteer, 'acceptReport', { reportId: params.id, ...body }, { caller, deadlineMs: context.deadlineMs })),
    audit: ({ body }, report) => ({
      targetId: report.id,
      communityId: report.communityId,
      detail: { decision: 'accept', reporterUserId: report.reporterUserId, ...body },
    }),
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/reports/:id/reject',
    summary: 'Reject a report, with a reason for the reporter',
    tag: 'reports',
    access: 'signed_in',
    action: 'report.decide',
    params: idParams,
    body: rejectReportInput,
    successStatus: 200,
    response: reportView,
    handler: async ({ params, body, caller }, context) =>
      asView(await callUnary(context.clients.volunteer, 'rejectReport', { reportId: params.id, ...body }, { caller, deadlineMs: context.deadlineMs })),
    audit: ({ body }, report) => ({
      targetId: report.id,
      communityId: report.communityId,
      detail: { decision: 'reject', reporterUserId: report.reporterUserId, ...body },
    }),
  }),
];
