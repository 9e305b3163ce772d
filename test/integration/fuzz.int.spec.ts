import { api, approvedVolunteer, communityWithOrganizer, register } from '../support/api';
import {
  describeOffenders,
  drawRequests,
  type FuzzIdentities,
  fuzzRequestCount,
  fuzzRequests,
  fuzzSeed,
  operationsFromOpenApi,
  readiness,
  runFuzz,
} from '../support/fuzz';
import { platform } from '../support/platform';

/**
 * Malformed requests against every operation the OpenAPI document lists, as several roles and
 * as nobody: the gateway must answer each with a 4xx problem (never a 5xx) and stay ready.
 * FUZZ_REQUESTS sets how many (default 2000), FUZZ_SEED draws a failing run again.
 */
const requestCount = fuzzRequestCount(2000);
const seed = fuzzSeed();

describe('fuzz: malformed requests across every endpoint', () => {
  let identities: FuzzIdentities;

  beforeAll(async () => {
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
    identities = {
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
  });

  it(
    `answers ${requestCount} malformed requests with 4xx problems and stays ready`,
    async () => {
      const document = await api('GET', '/api/openapi.json');
      expect(document.status).toBe(200);
      const operations = operationsFromOpenApi(document.body);
      expect(operations.length).toBeGreaterThan(50);
      process.stdout.write(`fuzz: FUZZ_SEED=${seed}, ${requestCount} requests over ${operations.length} operations\n`);

      const report = await runFuzz({
        baseUrl: platform.TEST_GATEWAY_URL,
        requests: drawRequests(fuzzRequests(operations, identities), seed, requestCount),
        concurrency: 8,
        readinessEvery: 250,
      });
      process.stdout.write(`fuzz: ${report.sent} requests in ${(report.durationMs / 1000).toFixed(1)} s, by status ${JSON.stringify(report.countsByStatus)}\n`);

      if (report.offenderCount > 0) throw new Error(describeOffenders(report, seed));
      expect(report.readinessFailures).toEqual([]);
      // Every operation of the document was reached.
      expect(Object.keys(report.countsByOperation).length).toBe(Math.min(operations.length, requestCount));
      expect(await readiness(platform.TEST_GATEWAY_URL)).toBe(200);
    },
    Math.max(120_000, requestCount * 100),
  );
});
