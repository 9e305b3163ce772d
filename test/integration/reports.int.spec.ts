import { reportEscalated, topics } from '@lovepoints/events';
import { callUnary, createClients } from '@lovepoints/grpc';
import { api, balanceReaches, communityWithOrganizer, eventually, register, type Session, signInAsAdmin } from '../support/api';
import { recordTopic, testKafka } from '../support/kafka';
import { platform } from '../support/platform';

describe('problem reports (我有事要说): accept for points, reject, escalate', () => {
  let organizer: Session;
  let communityId: string;
  let resident: Session;
  const clients = createClients({ volunteer: platform.TEST_VOLUNTEER_GRPC_ADDRESS, points: '127.0.0.1:1', redeem: '127.0.0.1:1', timebank: '127.0.0.1:1' });
  const hours = (count: number) => new Date(Date.now() + count * 3600_000).toISOString();

  beforeAll(async () => {
    ({ organizer, communityId } = await communityWithOrganizer());
    resident = await register(communityId, '赵奶奶');
    // Reports start with the grid worker of the reporter's grid.
    const grid = await api('POST', `/api/v1/communities/${communityId}/grids`, { token: organizer.token, body: { name: '第一网格' } });
    expect((await api('PATCH', '/api/v1/me', { token: resident.token, body: { gridId: grid.body.id } })).status).toBe(200);
  });
  afterAll(() => Object.values(clients).forEach((client) => client.close()));

  const file = (text: string) => api('POST', '/api/v1/reports', { token: resident.token, body: { category: 'facilities', text, address: '3号楼2单元' } });

  it('files a report open at grid level, and refuses bad ones with the fields', async () => {
    const filed = await file('楼道灯坏了，晚上老人上下楼不安全');
    expect(filed.status).toBe(201);
    expect(filed.body).toMatchObject({ status: 'open', level: 'grid', reporterUserId: resident.userId, communityId });
    expect(Date.parse(filed.body.deadlineAt) - Date.now()).toBeGreaterThan(71 * 3600_000);
    const bad = await api('POST', '/api/v1/reports', { token: resident.token, body: { category: 'ufo', text: '', photoUrl: 'http://insecure.example/p.jpg' } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((error: { path: string }) => error.path)).toEqual(expect.arrayContaining(['category', 'text', 'photoUrl']));
  });

  it('awards the reporter on acceptance, once, through Kafka', async () => {
    const first = (await file('小区东门路面塌陷')).body;
    const second = (await file('垃圾分类点无人清运')).body;
    const list = await api('GET', '/api/v1/reports?status=open', { token: organizer.token });
    expect(list.body.items.map((report: { id: string }) => report.id)).toEqual(expect.arrayContaining([first.id, second.id]));

    const accepted = await api('POST', `/api/v1/reports/${first.id}/accept`, { token: organizer.token, body: {} });
    expect(accepted.status).toBe(200);
    expect(accepted.body.status).toBe('accepted');
    expect((await api('POST', `/api/v1/reports/${first.id}/accept`, { token: organizer.token, body: {} })).status).toBe(409);
    await balanceReaches(resident, { points: 5 });

    expect((await api('POST', `/api/v1/reports/${second.id}/accept`, { token: organizer.token, body: { points: 12, note: '已联系物业' } })).status).toBe(200);
    await balanceReaches(resident, { points: 17 });
  });

  it('rejects with a reason and keeps strangers out', async () => {
    const report = (await file('邻居装修噪音')).body;
    expect((await api('POST', `/api/v1/reports/${report.id}/reject`, { token: organizer.token, body: { reason: '' } })).status).toBe(400);
    expect((await api('POST', `/api/v1/reports/${report.id}/accept`, { token: resident.token, body: {} })).status).toBe(403);
    const other = await communityWithOrganizer();
    expect((await api('POST', `/api/v1/reports/${report.id}/accept`, { token: other.organizer.token, body: {} })).status).toBe(404);
    const rejected = await api('POST', `/api/v1/reports/${report.id}/reject`, { token: organizer.token, body: { reason: '属于民事纠纷，已转调解' } });
    expect(rejected.body).toMatchObject({ status: 'rejected', decisionNote: '属于民事纠纷，已转调解' });
    expect((await api('POST', `/api/v1/reports/${report.id}/accept`, { token: organizer.token, body: {} })).status).toBe(409);
    const mine = await api('GET', '/api/v1/reports', { token: resident.token });
    expect(mine.body.items.find((item: { id: string }) => item.id === report.id)?.status).toBe('rejected');
  });

  it('moves an unanswered report up to the community, then the street, with events', async () => {
    const kafka = testKafka();
    const recorder = await recordTopic(kafka, [topics.report]);
    try {
      const report = (await file('小区后门监控坏了一个月')).body;
      expect((await callUnary(clients.volunteer, 'escalateOverdueReports', { asOf: hours(24) }, { deadlineMs: 5000 })).escalated).toBe(0);
      expect((await callUnary(clients.volunteer, 'escalateOverdueReports', { asOf: hours(73) }, { deadlineMs: 5000 })).escalated).toBeGreaterThanOrEqual(1);
      const atCommunity = (await api('GET', '/api/v1/reports', { token: resident.token })).body.items.find((item: { id: string }) => item.id === report.id);
      expect(atCommunity.level).toBe('community');
      await callUnary(clients.volunteer, 'escalateOverdueReports', { asOf: hours(146) }, { deadlineMs: 5000 });
      const admin = await signInAsAdmin();
      const street = await api('GET', '/api/v1/reports?status=open', { token: admin.token });
      expect(street.body.items.find((item: { id: string }) => item.id === report.id)?.level).toBe('street');

      const escalations = await eventually(async () => {
        const found = recorder.messages
          .map((message) => JSON.parse(message.value!.toString()) as { type: string; subject: string; data: { toLevel: string } })
          .filter((event) => event.type === reportEscalated.type && event.subject === report.id);
        return found.length >= 2 ? found : undefined;
      });
      expect(escalations.map((event) => event.data.toLevel)).toEqual(['community', 'street']);

      // The street answers it; the reporter is awarded as for any accepted report.
      expect((await api('POST', `/api/v1/reports/${report.id}/accept`, { token: admin.token, body: { points: 3 } })).status).toBe(200);
      await balanceReaches(resident, { points: 20 });
    } finally {
      await recorder.stop();
      await kafka.disconnect();
    }
  });
});
