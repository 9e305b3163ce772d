import { callUnary, createClients } from '@lovepoints/grpc';
import { api, communityWithOrganizer, register, type Session, signInAsAdmin } from '../support/api';
import { platform } from '../support/platform';

/** Street → community → grid → building: who creates what, who lives where, and where reports start. */
describe('grids, buildings and where members live', () => {
  let organizer: Session;
  let communityId: string;
  let other: Awaited<ReturnType<typeof communityWithOrganizer>>;
  const clients = createClients({ volunteer: platform.TEST_VOLUNTEER_GRPC_ADDRESS, points: '127.0.0.1:1', redeem: '127.0.0.1:1', timebank: '127.0.0.1:1' });
  const paths = (body: { errors?: { path: string }[] }) => body.errors?.map((error) => error.path);

  beforeAll(async () => {
    ({ organizer, communityId } = await communityWithOrganizer());
    other = await communityWithOrganizer();
  });
  afterAll(() => Object.values(clients).forEach((client) => client.close()));

  const createGrid = (body: Record<string, unknown>, token = organizer.token, community = communityId) =>
    api('POST', `/api/v1/communities/${community}/grids`, { token, body });
  const createBuilding = (gridId: string, name: string, token = organizer.token) => api('POST', `/api/v1/grids/${gridId}/buildings`, { token, body: { name } });
  const setPlace = (session: Session, body: unknown) => api('PATCH', '/api/v1/me', { token: session.token, body });

  it('lets organizers divide their community into grids with a grid worker, and buildings in each grid', async () => {
    const worker = await register(communityId, '网格员');
    const notStaff = await createGrid({ name: '东一网格', leaderUserId: worker.userId });
    expect([notStaff.status, notStaff.body.code]).toEqual([422, 'leader_not_organizer']);
    await api('POST', `/api/v1/users/${worker.userId}/roles`, { token: organizer.token, body: { role: 'organizer' } });
    const grid = await createGrid({ name: '东一网格', leaderUserId: worker.userId });
    expect(grid.status).toBe(201);
    expect(grid.body).toMatchObject({ communityId, name: '东一网格', leaderUserId: worker.userId });
    expect((await createGrid({ name: '东一网格' })).status).toBe(409);
    expect(paths((await createGrid({ name: '' })).body)).toEqual(['name']);
    // A leader from another community is no user of this one.
    expect(paths((await createGrid({ name: '东二网格', leaderUserId: other.organizer.userId })).body)).toEqual(['leaderUserId']);

    const renamed = await api('PATCH', `/api/v1/grids/${grid.body.id}`, { token: organizer.token, body: { name: '东湖一网格', leaderUserId: null } });
    expect(renamed.body).toMatchObject({ name: '东湖一网格', leaderUserId: null });
    expect((await api('PATCH', `/api/v1/grids/${grid.body.id}`, { token: organizer.token, body: {} })).status).toBe(400);

    expect((await createBuilding(grid.body.id, '3号楼')).status).toBe(201);
    expect((await createBuilding(grid.body.id, '3号楼')).status).toBe(409);
    expect((await createBuilding(grid.body.id, '东院')).status).toBe(201);
    const resident = await register(communityId);
    expect((await createBuilding(grid.body.id, '4号楼', resident.token)).status).toBe(403);
    const buildings = await api('GET', `/api/v1/grids/${grid.body.id}/buildings`, { token: resident.token });
    expect(buildings.body.items.map((building: { name: string }) => building.name)).toEqual(['3号楼', '东院']);
    const grids = await api('GET', `/api/v1/communities/${communityId}/grids`, { token: resident.token });
    expect(grids.body.items.map((item: { id: string }) => item.id)).toContain(grid.body.id);
  });

  it('keeps other communities out of a community’s grids and buildings (404), but lets its street admin in', async () => {
    const grid = (await createGrid({ name: '南网格' })).body;
    expect((await createGrid({ name: '越界网格' }, other.organizer.token)).status).toBe(404);
    expect((await api('GET', `/api/v1/communities/${communityId}/grids`, { token: other.organizer.token })).status).toBe(404);
    expect((await api('GET', `/api/v1/grids/${grid.id}/buildings`, { token: other.organizer.token })).status).toBe(404);
    expect((await createBuilding(grid.id, '1号楼', other.organizer.token)).status).toBe(404);
    expect((await api('PATCH', `/api/v1/grids/${grid.id}`, { token: other.organizer.token, body: { name: '抢' } })).status).toBe(404);
    expect((await api('GET', '/api/v1/communities/no-such-community/grids', { token: organizer.token })).status).toBe(404);

    const admin = await signInAsAdmin();
    expect((await createGrid({ name: '街道划定网格' }, admin.token)).status).toBe(201);
    expect((await api('GET', `/api/v1/communities/${communityId}/grids`, { token: admin.token })).status).toBe(200);
  });

  it('lets members say where they live, only within their own community', async () => {
    const north = (await createGrid({ name: '北网格' })).body;
    const west = (await createGrid({ name: '西网格' })).body;
    const building = (await createBuilding(north.id, '7号楼')).body;
    const foreignGrid = (await createGrid({ name: '外社区网格' }, other.organizer.token, other.communityId)).body;
    const foreignBuilding = (await createBuilding(foreignGrid.id, '1号楼', other.organizer.token)).body;
    const resident = await register(communityId);

    // A building alone implies its grid.
    const placed = await setPlace(resident, { buildingId: building.id });
    expect(placed.status).toBe(200);
    expect(placed.body).toMatchObject({ gridId: north.id, buildingId: building.id });
    expect((await api('GET', '/api/v1/me', { token: resident.token })).body).toMatchObject({ gridId: north.id, buildingId: building.id });

    const mismatch = await setPlace(resident, { gridId: west.id, buildingId: building.id });
    expect([mismatch.status, paths(mismatch.body)]).toEqual([400, ['buildingId']]);
    expect([(await setPlace(resident, { gridId: foreignGrid.id })).status, paths((await setPlace(resident, { gridId: foreignGrid.id })).body)]).toEqual([
      400,
      ['gridId'],
    ]);
    expect(paths((await setPlace(resident, { buildingId: foreignBuilding.id })).body)).toEqual(['buildingId']);
    expect(paths((await setPlace(resident, {})).body)).toEqual(['(root)']);
    expect(paths((await setPlace(resident, { gridId: 42 })).body)).toEqual(['gridId']);
    // Nothing of the refused changes was written.
    expect((await api('GET', '/api/v1/me', { token: resident.token })).body).toMatchObject({ gridId: north.id, buildingId: building.id });

    // Moving to another grid drops the building of the old one; null removes the grid.
    expect((await setPlace(resident, { gridId: west.id })).body).toMatchObject({ gridId: west.id, buildingId: null });
    expect((await setPlace(resident, { gridId: null })).body).toMatchObject({ gridId: null, buildingId: null });
    const admin = await signInAsAdmin();
    expect((await setPlace(admin, { gridId: north.id })).status).toBe(422);
  });

  it('starts a report at the reporter’s grid, or a named one, and at the community without a grid; escalation goes on from there', async () => {
    const grid = (await createGrid({ name: '报事网格' })).body;
    const resident = await register(communityId);
    const file = (body: Record<string, unknown> = {}) =>
      api('POST', '/api/v1/reports', { token: resident.token, body: { category: 'environment', text: '绿化带垃圾堆积', ...body } });

    const noGrid = await file();
    expect(noGrid.body).toMatchObject({ level: 'community', gridId: null });
    const named = await file({ gridId: grid.id });
    expect(named.body).toMatchObject({ level: 'grid', gridId: grid.id });
    expect(paths((await file({ gridId: (await createGrid({ name: '别处' }, other.organizer.token, other.communityId)).body.id })).body)).toEqual(['gridId']);
    await setPlace(resident, { gridId: grid.id });
    const own = await file();
    expect(own.body).toMatchObject({ level: 'grid', gridId: grid.id });

    // One overdue sweep: grid → community, and the grid-less one community → street.
    await callUnary(clients.volunteer, 'escalateOverdueReports', { asOf: new Date(Date.now() + 73 * 3600_000).toISOString() }, { deadlineMs: 5000 });
    const byId = async (token: string, query = '') =>
      new Map(
        ((await api('GET', `/api/v1/reports${query}`, { token })).body.items as { id: string; level: string }[]).map((report) => [report.id, report.level]),
      );
    const levels = await byId(organizer.token);
    expect([levels.get(noGrid.body.id), levels.get(named.body.id), levels.get(own.body.id)]).toEqual(['street', 'community', 'community']);

    // The grid worker's queue, and a street admin's view of one community.
    const gridQueue = await byId(organizer.token, `?gridId=${grid.id}`);
    expect([...gridQueue.keys()].sort()).toEqual([named.body.id, own.body.id].sort());
    const admin = await signInAsAdmin();
    const streetLevel = await byId(admin.token, `?communityId=${communityId}&level=street`);
    expect([...streetLevel.keys()]).toContain(noGrid.body.id);
    expect(streetLevel.has(named.body.id)).toBe(false);
    expect((await api('GET', `/api/v1/reports?communityId=${communityId}`, { token: other.organizer.token })).status).toBe(404);
    expect((await api('GET', '/api/v1/reports?level=village', { token: organizer.token })).status).toBe(400);
  });
});
