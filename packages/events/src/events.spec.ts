import { attendanceRewardPoints, attendanceVerified, createEvent, InvalidEventError, parseEvent } from './index';

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
