import { attendanceRewardPoints, attendanceVerified, attendanceVerifiedV2, createEvent, InvalidEventError, parseEvent } from './index';

const data = {
  attendanceId: 'att-1',
  activityId: 'act-1',
  userId: 'user-1',
  communityId: 'c-1',
  minutes: 90,
  pointsPerHour: 10,
  verifiedAt: new Date('2026-11-23T10:00:00Z').toISOString(),
};

describe('events', () => {
  it('round-trips an envelope', () => {
    const event = createEvent(attendanceVerified, { id: 'att-1', source: 'volunteer', subject: 'att-1', data });
    expect(parseEvent(attendanceVerified, Buffer.from(JSON.stringify(event)))).toEqual(event);
  });

  it.each([
    ['not JSON', '{'],
    ['no envelope', JSON.stringify({ hello: 1 })],
    ['wrong type', JSON.stringify({ ...createEvent(attendanceVerified, { source: 's', subject: 's', data }), type: 'Other' })],
    ['bad data', JSON.stringify({ ...createEvent(attendanceVerified, { source: 's', subject: 's', data }), data: { ...data, minutes: -1 } })],
  ])('refuses %s', (_label, raw) => {
    expect(() => parseEvent(attendanceVerified, raw)).toThrow(InvalidEventError);
  });

  it('rounds reward points down', () => {
    expect(attendanceRewardPoints({ minutes: 90, pointsPerHour: 10 })).toBe(15);
    expect(attendanceRewardPoints({ minutes: 59, pointsPerHour: 1 })).toBe(0);
  });
});

describe('AttendanceVerified version 2', () => {
  const { pointsPerHour, ...facts } = data;

  it('carries a fixed reward, earned by any verified time', () => {
    const event = createEvent(attendanceVerifiedV2, { source: 's', subject: 's', data: { ...facts, reward: { rule: 'fixed', points: 30 } } });
    expect(event.version).toBe(2);
    const parsed = parseEvent(attendanceVerifiedV2, JSON.stringify(event));
    expect(attendanceRewardPoints(parsed.data)).toBe(30);
    expect(attendanceRewardPoints({ ...parsed.data, minutes: 0 })).toBe(0);
    expect(attendanceRewardPoints({ minutes: 90, reward: { rule: 'per_hour', pointsPerHour } })).toBe(15);
  });

  it('is not mistaken for version 1, nor version 1 for it', () => {
    const v2 = createEvent(attendanceVerifiedV2, { source: 's', subject: 's', data: { ...facts, reward: { rule: 'fixed', points: 30 } } });
    expect(() => parseEvent(attendanceVerified, JSON.stringify(v2))).toThrow(InvalidEventError);
    const v1 = createEvent(attendanceVerified, { source: 's', subject: 's', data });
    expect(() => parseEvent(attendanceVerifiedV2, JSON.stringify(v1))).toThrow(InvalidEventError);
  });
});
