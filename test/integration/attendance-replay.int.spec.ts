import { attendanceVerified } from '@lovepoints/events';
import { callUnary, createClients } from '@lovepoints/grpc';
import { randomUUID } from 'node:crypto';
import { api, approvedVolunteer, balanceReaches, communityWithOrganizer, completedActivity, eventually } from '../support/api';
import { testKafka } from '../support/kafka';
import { platform } from '../support/platform';
import { PointsProcess } from '../support/points-process';
import { specPort } from '../support/ports';

/**
 * Replaying the whole attendance topic from offset 0 into the live ledger credits nothing twice:
 * a second points process joins a new consumer group on the platform's own ledger database.
 */
describe('replaying volunteer.attendance.v1 from offset 0', () => {
  const replayGroup = `replay-${randomUUID()}`;
  const replayer = new PointsProcess(specPort(21162), platform.TEST_POINTS_MONGO_DB, {
    POINTS_CONSUMERS_ENABLED: 'true',
    POINTS_ATTENDANCE_CONSUMER_GROUP: replayGroup,
  });
  const kafka = testKafka();
  const clients = createClients({ volunteer: '127.0.0.1:1', points: platform.TEST_POINTS_GRPC_ADDRESS, redeem: '127.0.0.1:1', timebank: '127.0.0.1:1' });

  afterAll(async () => {
    await replayer.stop();
    await kafka.disconnect();
    Object.values(clients).forEach((client) => client.close());
  });

  it('leaves every balance and the transfer count unchanged', async () => {
    const { organizer, communityId } = await communityWithOrganizer();
    const volunteer = await approvedVolunteer(communityId, organizer);
    await completedActivity(organizer, volunteer, { minutes: 120, pointsPerHour: 12 });
    await balanceReaches(volunteer, { points: 24, timeMinutes: 120 });

    const before = await eventually(async () => {
      const report = await callUnary(clients.points, 'verifyLedger', {}, { deadlineMs: 10_000 });
      return report.transfersInFlight === 0 ? report : undefined;
    });
    expect(await kafka.consumerLag(replayGroup, attendanceVerified.topic)).toBeGreaterThan(0);

    await replayer.start();
    await eventually(async () => ((await kafka.consumerLag(replayGroup, attendanceVerified.topic)) === 0 ? true : undefined), 60_000, 250);

    const after = await callUnary(clients.points, 'verifyLedger', {}, { deadlineMs: 10_000 });
    expect(after.transfersChecked).toBe(before.transfersChecked);
    expect(after.differences).toEqual([]);
    expect(await api('GET', '/api/v1/points/balance', { token: volunteer.token }).then((response) => response.body)).toMatchObject({
      points: 24,
      timeMinutes: 120,
    });
  });
});
