import {
  cancelActivityInput,
  checkInput,
  completeActivityInput,
  createActivityInput,
  listActivitiesInput,
  recordAttendanceInput,
  updateActivityInput,
} from '@lovepoints/contracts';
import { callUnary } from '@lovepoints/grpc';
import { z } from 'zod';
import type { Caller } from '@lovepoints/grpc';
import { defineRoute, type GatewayContext } from '../http/route';
import { emptyToNull, idParams, pageOf } from './views';

const activityView = z.object({
  id: z.string(),
  communityId: z.string(),
  title: z.string(),
  category: z.string(),
  location: z.object({ lat: z.number(), lng: z.number(), radiusMeters: z.number() }),
  startAt: z.string(),
  endAt: z.string(),
  capacity: z.number(),
  pointsPerHour: z.number().describe('0 when the activity gives a fixed reward'),
  rewardPoints: z.number().nullable().describe('fixed points per verified attendance; null when rewarded by the hour'),
  description: z.string(),
  signupOpensAt: z.string().nullable(),
  signupClosesAt: z.string().nullable(),
  status: z.string(),
  confirmedCount: z.number(),
  createdByUserId: z.string(),
});

/**
 * proto3 leaves out an absent reward and sends absent times as ''; the API says null. The
 * decoder's `_rewardPoints` marks a present optional field and is not part of the API.
 */
function toActivityView<Reply extends { rewardPoints?: number; _rewardPoints?: string; signupOpensAt: string; signupClosesAt: string }>(activity: Reply) {
  const { _rewardPoints: _presence, ...fields } = activity;
  return {
    ...fields,
    rewardPoints: activity.rewardPoints ?? null,
    signupOpensAt: emptyToNull(activity.signupOpensAt),
    signupClosesAt: emptyToNull(activity.signupClosesAt),
  };
}
const attendanceView = z.object({
  id: z.string(),
  activityId: z.string(),
  userId: z.string(),
  checkedInAt: z.string(),
  checkedOutAt: z.string().nullable(),
  minutes: z.number(),
  status: z.string(),
});

function toAttendanceView(attendance: z.input<typeof attendanceView> & { checkedOutAt: string }) {
  return { ...attendance, checkedOutAt: emptyToNull(attendance.checkedOutAt) };
}

/**
 * The community of an activity, for the audit log: a street admin acts in a community that is not
 * in their token, and the answers of attendance routes do not carry it.
 */
async function activityCommunity(activityId: string, caller: Caller | undefined, context: GatewayContext): Promise<string> {
  return (await callUnary(context.clients.volunteer, 'getActivity', { activityId }, { caller, deadlineMs: context.deadlineMs })).communityId;
}

/** Check-in and check-out take the same proof of presence (code and position). */
function presenceRoute(collection: 'checkins' | 'checkouts', method: 'checkIn' | 'checkOut', summary: string) {
  return defineRoute({
    method: 'post',
    path: `/api/v1/activities/:id/${collection}`,
    summary,
    tag: 'activities',
    access: 'signed_in',
    action: 'attendance.check',
    params: idParams,
    body: checkInput,
    successStatus: 201,
    response: attendanceView,
    handler: async ({ params, body, caller }, context) =>
      toAttendanceView(await callUnary(context.clients.volunteer, method, { activityId: params.id, ...body }, { caller, deadlineMs: context.deadlineMs })),
  });
}

export const activityRoutes = [
  defineRoute({
    method: 'post',
    path: '/api/v1/activities',
    summary: 'Create a draft activity',
    tag: 'activities',
    access: 'signed_in',
    action: 'activity.create',
    body: createActivityInput,
    successStatus: 201,
    response: activityView,
    handler: async ({ body, caller }, context) =>
      toActivityView(await callUnary(context.clients.volunteer, 'createActivity', body, { caller, deadlineMs: context.deadlineMs })),
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/activities/:id/publish',
    summary: 'Publish a draft activity',
    tag: 'activities',
    access: 'signed_in',
    action: 'activity.manage',
    params: idParams,
    successStatus: 200,
    response: activityView,
    handler: async ({ params, caller }, context) =>
      toActivityView(await callUnary(context.clients.volunteer, 'publishActivity', { activityId: params.id }, { caller, deadlineMs: context.deadlineMs })),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/activities',
    summary: 'Activities of your community (street admins: of their street, or the community given), newest start first',
    tag: 'activities',
    access: 'signed_in',
    action: 'activity.read',
    query: listActivitiesInput,
    successStatus: 200,
    response: pageOf(activityView),
    handler: async ({ query, caller }, context) => {
      const page = await callUnary(
        context.clients.volunteer,
        'listActivities',
        {
          status: query.status ?? '',
          communityId: query.communityId ?? '',
          from: query.from ?? '',
          to: query.to ?? '',
          page: { limit: query.limit, cursor: query.cursor },
        },
        { caller, deadlineMs: context.deadlineMs },
      );
      return { items: page.items.map(toActivityView), nextCursor: emptyToNull(page.nextCursor) };
    },
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/activities/:id',
    summary: 'One activity',
    tag: 'activities',
    access: 'signed_in',
    action: 'activity.read',
    params: idParams,
    successStatus: 200,
    response: activityView,
    handler: async ({ params, caller }, context) =>
      toActivityView(await callUnary(context.clients.volunteer, 'getActivity', { activityId: params.id }, { caller, deadlineMs: context.deadlineMs })),
  }),
  defineRoute({
    method: 'patch',
    path: '/api/v1/activities/:id',
    summary:
      'Edit an activity: a draft takes any field; a published one (nobody checked in yet) all but its reward, the capacity not below the confirmed places (raising it promotes the waitlist); later states none (409). `null` removes a sign-up limit',
    tag: 'activities',
    access: 'signed_in',
    action: 'activity.manage',
    params: idParams,
    body: updateActivityInput,
    successStatus: 200,
    response: activityView,
    handler: async ({ params, body, caller }, context) => {
      const { signupOpensAt, signupClosesAt, ...fields } = body;
      const request = {
        activityId: params.id,
        ...fields,
        // null removes a limit; the gRPC request says that with a present empty string.
        ...(signupOpensAt === undefined ? {} : { signupOpensAt: signupOpensAt ?? '' }),
        ...(signupClosesAt === undefined ? {} : { signupClosesAt: signupClosesAt ?? '' }),
      };
      return toActivityView(await callUnary(context.clients.volunteer, 'updateActivity', request, { caller, deadlineMs: context.deadlineMs }));
    },
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/activities/:id/signups',
    summary: 'Sign up: confirmed while places last, then waitlisted',
    tag: 'activities',
    access: 'signed_in',
    action: 'activity.signup',
    params: idParams,
    successStatus: 201,
    response: z.object({ activityId: z.string(), userId: z.string(), status: z.enum(['confirmed', 'waitlisted']) }),
    handler: ({ params, caller }, context) =>
      callUnary(context.clients.volunteer, 'signUp', { activityId: params.id }, { caller, deadlineMs: context.deadlineMs }),
  }),
  defineRoute({
    method: 'delete',
    path: '/api/v1/activities/:id/signups/me',
    summary: 'Withdraw your sign-up; a confirmed place goes to the longest-waiting volunteer',
    tag: 'activities',
    access: 'signed_in',
    action: 'activity.signup',
    params: idParams,
    successStatus: 204,
    handler: ({ params, caller }, context) =>
      callUnary(context.clients.volunteer, 'cancelSignUp', { activityId: params.id }, { caller, deadlineMs: context.deadlineMs }),
  }),
  defineRoute({
    method: 'get',
    path: '/api/v1/activities/:id/checkin-code',
    summary: 'The rotating, signed check-in code to show on site',
    tag: 'activities',
    access: 'signed_in',
    action: 'activity.manage',
    params: idParams,
    successStatus: 200,
    response: z.object({ code: z.string(), expiresAt: z.string() }),
    handler: ({ params, caller }, context) =>
      callUnary(context.clients.volunteer, 'getCheckinCode', { activityId: params.id }, { caller, deadlineMs: context.deadlineMs }),
  }),
  presenceRoute('checkins', 'checkIn', 'Check in on site with the code and your position'),
  presenceRoute('checkouts', 'checkOut', 'Check out; answers the minutes counted'),
  defineRoute({
    method: 'post',
    path: '/api/v1/activities/:id/attendances',
    summary: 'Check a volunteer in or out by hand (a dead phone, a forgotten scan); the reason is kept in the audit trail',
    tag: 'activities',
    access: 'signed_in',
    action: 'attendance.record',
    params: idParams,
    body: recordAttendanceInput,
    successStatus: 201,
    response: attendanceView,
    handler: async ({ params, body, caller }, context) =>
      toAttendanceView(
        await callUnary(
          context.clients.volunteer,
          'recordAttendance',
          { activityId: params.id, ...body, at: body.at ?? '' },
          { caller, deadlineMs: context.deadlineMs },
        ),
      ),
    audit: async ({ params, body, caller }, attendance, context) => ({
      targetId: params.id,
      communityId: await activityCommunity(params.id, caller, context),
      detail: { userId: body.userId, action: body.action, at: body.at ?? attendance.checkedOutAt ?? attendance.checkedInAt, reason: body.reason },
    }),
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/activities/:id/cancel',
    summary: 'Cancel an activity that is not completed',
    tag: 'activities',
    access: 'signed_in',
    action: 'activity.manage',
    params: idParams,
    body: cancelActivityInput,
    successStatus: 200,
    response: activityView,
    handler: async ({ params, body, caller }, context) =>
      toActivityView(
        await callUnary(
          context.clients.volunteer,
          'cancelActivity',
          { activityId: params.id, reason: body.reason },
          { caller, deadlineMs: context.deadlineMs },
        ),
      ),
  }),
  defineRoute({
    method: 'post',
    path: '/api/v1/activities/:id/complete',
    summary: 'Verify attendance (with audited corrections) and complete; points and minutes are credited through the event flow',
    tag: 'activities',
    access: 'signed_in',
    action: 'activity.complete',
    params: idParams,
    body: completeActivityInput,
    successStatus: 200,
    response: z.object({
      attendances: z.array(z.object({ attendanceId: z.string(), userId: z.string(), minutes: z.number(), points: z.number(), checkoutMissing: z.boolean() })),
    }),
    handler: ({ params, body, caller }, context) =>
      callUnary(
        context.clients.volunteer,
        'completeActivity',
        { activityId: params.id, adjustments: body.adjustments },
        { caller, deadlineMs: context.deadlineMs },
      ),
    audit: async ({ params, body, caller }, completed, context) => ({
      targetId: params.id,
      communityId: await activityCommunity(params.id, caller, context),
      detail: { corrections: body.adjustments, attendances: completed.attendances.length },
    }),
  }),
];
