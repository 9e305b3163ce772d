import { api, approvedVolunteer, communityWithOrganizer, register, type Session, signInAsAdmin } from '../support/api';

describe('volunteer teams (服务队): forming, joining, leaving', () => {
  let organizer: Session;
  let communityId: string;
  let leader: Session;

  beforeAll(async () => {
    ({ organizer, communityId } = await communityWithOrganizer());
    leader = await approvedVolunteer(communityId, organizer);
  });

  const form = (body: Record<string, unknown>, token = organizer.token) => api('POST', '/api/v1/teams', { token, body });
  const add = (teamId: string, session: Session, userId?: string) =>
    api('POST', `/api/v1/teams/${teamId}/members`, { token: session.token, body: userId === undefined ? {} : { userId } });
  const remove = (teamId: string, session: Session, userId: string) => api('DELETE', `/api/v1/teams/${teamId}/members/${userId}`, { token: session.token });
  const members = async (teamId: string, session = organizer) =>
    ((await api('GET', `/api/v1/teams/${teamId}/members`, { token: session.token })).body.items as { userId: string; role: string }[]).map(
      (member) => `${member.role}:${member.userId}`,
    );
  const paths = (body: { errors?: { path: string }[] }) => body.errors?.map((error) => error.path);

  it('forms a team around a volunteer leader, and refuses bad input with the field', async () => {
    const team = await form({ name: '老东湖巡逻队', leaderUserId: leader.userId, description: '夜间巡逻' });
    expect(team.status).toBe(201);
    expect(team.body).toMatchObject({ communityId, name: '老东湖巡逻队', leaderUserId: leader.userId, memberCount: 1 });
    expect(await members(team.body.id)).toEqual([`leader:${leader.userId}`]);

    expect((await form({ name: '老东湖巡逻队', leaderUserId: leader.userId })).status).toBe(409);
    expect(paths((await form({ name: '', leaderUserId: '' })).body)?.sort()).toEqual(['leaderUserId', 'name']);
    const resident = await register(communityId);
    const notVolunteer = await form({ name: '未审核队', leaderUserId: resident.userId });
    expect([notVolunteer.status, notVolunteer.body.code]).toEqual([422, 'not_a_volunteer']);
    const other = await communityWithOrganizer();
    expect(paths((await form({ name: '外社区队长', leaderUserId: other.organizer.userId })).body)).toEqual(['leaderUserId']);
    expect((await form({ name: '志愿者自建', leaderUserId: leader.userId }, leader.token)).status).toBe(403);
    const listed = await api('GET', '/api/v1/teams', { token: resident.token });
    expect(listed.body.items.map((item: { id: string }) => item.id)).toContain(team.body.id);
  });

  it('lets volunteers join and leave, and the leader or an organizer add and remove; never twice, never the leader', async () => {
    const teamId: string = (await form({ name: '助老服务队', leaderUserId: leader.userId })).body.id;
    const [first, second, third] = await Promise.all([1, 2, 3].map(() => approvedVolunteer(communityId, organizer)));

    const joined = await add(teamId, first!);
    expect(joined.status).toBe(201);
    expect(joined.body).toMatchObject({ teamId, userId: first!.userId, role: 'member', name: '志愿者' });
    expect((await add(teamId, first!)).body.code).toBe('already_member');
    expect((await add(teamId, leader, second!.userId)).status).toBe(201);
    expect((await add(teamId, organizer, third!.userId)).status).toBe(201);
    // A member cannot add others; a resident cannot join.
    const resident = await register(communityId);
    expect((await add(teamId, first!, resident.userId)).status).toBe(403);
    expect((await add(teamId, resident)).body.code).toBe('not_a_volunteer');
    expect(await members(teamId)).toEqual([`leader:${leader.userId}`, `member:${first!.userId}`, `member:${second!.userId}`, `member:${third!.userId}`]);

    expect((await remove(teamId, first!, 'me')).status).toBe(204);
    expect((await remove(teamId, first!, 'me')).status).toBe(404);
    expect((await remove(teamId, second!, third!.userId)).status).toBe(403);
    expect((await remove(teamId, leader, second!.userId)).status).toBe(204);
    expect((await remove(teamId, organizer, leader.userId)).body.code).toBe('leader_cannot_leave');
    expect(await members(teamId)).toEqual([`leader:${leader.userId}`, `member:${third!.userId}`]);
    const team = (await api('GET', '/api/v1/teams', { token: organizer.token })).body.items.find((item: { id: string }) => item.id === teamId);
    expect(team.memberCount).toBe(2);
  });

  it('takes a rush of joins without duplicates', async () => {
    const teamId: string = (await form({ name: '应急突击队', leaderUserId: leader.userId })).body.id;
    const volunteer = await approvedVolunteer(communityId, organizer);
    const results = await Promise.all(Array.from({ length: 6 }, () => add(teamId, volunteer)));
    expect(results.map((result) => result.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    expect(await members(teamId)).toEqual([`leader:${leader.userId}`, `member:${volunteer.userId}`]);
  });

  it('keeps other communities out (404) and lets the street admin look in', async () => {
    const teamId: string = (await form({ name: '环保服务队', leaderUserId: leader.userId })).body.id;
    const other = await communityWithOrganizer();
    const stranger = await approvedVolunteer(other.communityId, other.organizer);
    expect((await add(teamId, stranger)).status).toBe(404);
    expect((await add(teamId, other.organizer, stranger.userId)).status).toBe(404);
    expect((await api('GET', `/api/v1/teams/${teamId}/members`, { token: stranger.token })).status).toBe(404);
    expect((await remove(teamId, other.organizer, leader.userId)).status).toBe(404);
    expect((await api('GET', `/api/v1/teams?communityId=${communityId}`, { token: other.organizer.token })).status).toBe(404);
    // Adding someone of another community to this team: no such user here.
    expect(paths((await add(teamId, organizer, stranger.userId)).body)).toEqual(['userId']);

    const admin = await signInAsAdmin();
    const listed = await api('GET', `/api/v1/teams?communityId=${communityId}`, { token: admin.token });
    expect(listed.body.items.map((item: { id: string }) => item.id)).toContain(teamId);
    expect(await members(teamId, admin)).toEqual([`leader:${leader.userId}`]);
  });

  it('hands a team to another volunteer: the old leader stays a member, the new one leads (added if need be), audited', async () => {
    const teamId: string = (await form({ name: '交接服务队', leaderUserId: leader.userId })).body.id;
    const [member, outsider] = await Promise.all([1, 2].map(() => approvedVolunteer(communityId, organizer)));
    expect((await add(teamId, member!)).status).toBe(201);
    const handOver = (leaderUserId: string, session = organizer) => api('PATCH', `/api/v1/teams/${teamId}`, { token: session.token, body: { leaderUserId } });

    const handed = await handOver(member!.userId);
    expect(handed.status).toBe(200);
    expect(handed.body).toMatchObject({ id: teamId, leaderUserId: member!.userId, memberCount: 2 });
    expect(await members(teamId)).toEqual([`leader:${member!.userId}`, `member:${leader.userId}`]);
    // The old leader now manages nothing and may leave; the new one manages members.
    expect((await add(teamId, leader, outsider!.userId)).status).toBe(403);
    expect((await remove(teamId, organizer, member!.userId)).body.code).toBe('leader_cannot_leave');

    // To a volunteer not in the team yet: added as its leader. Again to the same: nothing changes.
    const toOutsider = await handOver(outsider!.userId);
    expect(toOutsider.body).toMatchObject({ leaderUserId: outsider!.userId, memberCount: 3 });
    expect((await handOver(outsider!.userId)).body).toMatchObject({ leaderUserId: outsider!.userId, memberCount: 3 });
    expect(await members(teamId)).toEqual([`leader:${outsider!.userId}`, `member:${leader.userId}`, `member:${member!.userId}`]);

    // Only organizers, only volunteers of the community, only this community's teams.
    expect((await handOver(member!.userId, outsider)).status).toBe(403);
    const resident = await register(communityId);
    expect((await handOver(resident.userId)).body.code).toBe('not_a_volunteer');
    expect(paths((await handOver('')).body)).toEqual(['leaderUserId']);
    const other = await communityWithOrganizer();
    expect((await handOver(member!.userId, other.organizer)).status).toBe(404);
    expect(paths((await handOver(other.organizer.userId)).body)).toEqual(['leaderUserId']);

    // Two handovers at once: both answered, one leader in the end, and it is the team's.
    const [first, second] = await Promise.all([1, 2].map(() => approvedVolunteer(communityId, organizer)));
    const raced = await Promise.all([handOver(first!.userId), handOver(second!.userId)]);
    expect(raced.map((response) => response.status)).toEqual([200, 200]);
    const after = await members(teamId);
    const leaders = after.filter((entry) => entry.startsWith('leader:'));
    expect(leaders).toHaveLength(1);
    const team = (await api('GET', '/api/v1/teams', { token: organizer.token })).body.items.find((item: { id: string }) => item.id === teamId);
    expect(leaders[0]).toBe(`leader:${team.leaderUserId}`);
    expect(after).toEqual(expect.arrayContaining([`member:${leader.userId}`, `member:${member!.userId}`, `member:${outsider!.userId}`]));
    expect(after).toHaveLength(team.memberCount);

    const admin = await signInAsAdmin();
    const audit = await api('GET', `/api/v1/audit?action=team.lead&communityId=${communityId}`, { token: admin.token });
    expect(audit.status).toBe(200);
    const recorded = (audit.body.items as { targetId: string; detail: { leaderUserId: string } }[]).filter((entry) => entry.targetId === teamId);
    expect(recorded.map((entry) => entry.detail.leaderUserId).sort()).toEqual(
      [member!.userId, outsider!.userId, outsider!.userId, first!.userId, second!.userId].sort(),
    );
  });
});
