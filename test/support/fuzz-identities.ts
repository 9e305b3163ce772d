import { api, approvedVolunteer, communityWithOrganizer, register } from './api';
import type { FuzzIdentities } from './fuzz';

/**
 * Tokens of a resident, a volunteer, an organizer and the street admin, and real ids of a
 * community, its members, a published activity, a grid, a team and a time-bank order, for the
 * fuzzer to put next to junk. Uses the helpers of ./api, so the platform is the one the TEST_*
 * variables name.
 */
export async function createFuzzIdentities(): Promise<FuzzIdentities> {
  const { admin, communityId, organizer } = await communityWithOrganizer();
  const volunteer = await approvedVolunteer(communityId, organizer);
  const resident = await register(communityId);
  const created = async (path: string, token: string, body: unknown): Promise<string> => {
    const response = await api('POST', path, { token, body });
    if (response.status !== 201) throw new Error(`${path}: ${response.status} ${JSON.stringify(response.body)}`);
    return response.body.id as string;
  };
  const now = Date.now();
  const activityId = await created('/api/v1/activities', organizer.token, {
    title: '模糊测试活动',
    category: 'cleaning',
    location: { lat: 31.2304, lng: 121.4737, radiusMeters: 150 },
    startAt: new Date(now + 3_600_000).toISOString(),
    endAt: new Date(now + 7_200_000).toISOString(),
    capacity: 10,
    pointsPerHour: 10,
  });
  await api('POST', `/api/v1/activities/${activityId}/publish`, { token: organizer.token });
  const gridId = await created(`/api/v1/communities/${communityId}/grids`, organizer.token, { name: '模糊网格' });
  const teamId = await created('/api/v1/teams', organizer.token, { name: '模糊服务队', leaderUserId: volunteer.userId });
  const requestId = await created('/api/v1/timebank/requests', resident.token, {
    category: 'companionship',
    description: '陪老人聊天',
    startAt: new Date(now + 2 * 3_600_000).toISOString(),
    minutes: 60,
  });
  // The bootstrap admin's own id stays out: other specs sign in as that admin.
  const userIds = [resident.userId, volunteer.userId, organizer.userId];
  return {
    tokens: { resident: resident.token, volunteer: volunteer.token, organizer: organizer.token, street_admin: admin.token },
    ids: {
      communities: [communityId],
      users: userIds,
      userId: userIds,
      volunteers: userIds,
      beneficiaries: userIds,
      activities: [activityId],
      grids: [gridId],
      teams: [teamId],
      requests: [requestId],
    },
  };
}
