import { api, communityWithOrganizer, signInAsAdmin } from '../support/api';

describe('a street admin’s view across the communities of their street', () => {
  it('lists activities of every community of the street, or of one, and keeps organizers to their own', async () => {
    const east = await communityWithOrganizer();
    const west = await communityWithOrganizer();
    const create = async (organizer: { token: string }, title: string) =>
      (
        await api('POST', '/api/v1/activities', {
          token: organizer.token,
          body: {
            title,
            category: 'patrol',
            location: { lat: 30.5928, lng: 114.3055, radiusMeters: 100 },
            startAt: new Date(Date.now() + 2 * 3600_000).toISOString(),
            endAt: new Date(Date.now() + 4 * 3600_000).toISOString(),
            capacity: 5,
            pointsPerHour: 5,
          },
        })
      ).body.id as string;
    const eastActivity = await create(east.organizer, '东社区巡逻');
    const westActivity = await create(west.organizer, '西社区巡逻');
    const admin = await signInAsAdmin();
    const ids = async (token: string, query = '') => {
      const response = await api('GET', `/api/v1/activities?limit=100${query}`, { token });
      expect(response.status).toBe(200);
      return (response.body.items as { id: string }[]).map((item) => item.id);
    };

    expect(await ids(admin.token, '&status=draft')).toEqual(expect.arrayContaining([eastActivity, westActivity]));
    const eastOnly = await ids(admin.token, `&communityId=${east.communityId}`);
    expect(eastOnly).toContain(eastActivity);
    expect(eastOnly).not.toContain(westActivity);

    expect(await ids(east.organizer.token)).toEqual([eastActivity]);
    expect(await ids(east.organizer.token, `&communityId=${east.communityId}`)).toEqual([eastActivity]);
    expect((await api('GET', `/api/v1/activities?communityId=${west.communityId}`, { token: east.organizer.token })).status).toBe(404);
    expect((await api('GET', '/api/v1/activities?communityId=no-such-community', { token: admin.token })).status).toBe(404);
    expect((await api('GET', `/api/v1/activities/${westActivity}`, { token: admin.token })).status).toBe(200);
  });
});
