import { DomainError, notFound, permissionDenied } from '@lovepoints/errors';
import type { Caller } from '@lovepoints/grpc';
import { insertUnique } from '@lovepoints/mongo';
import { randomUUID } from 'node:crypto';
import { authorize, conflict, ensureVisible, hasRole, refused, requireCaller } from './domain/access';
import { findCommunity } from './store/lookups';
import type { TeamDocument, TeamMemberEntry, VolunteerModels } from './store/models';

function teamView(team: TeamDocument) {
  return {
    id: team._id,
    communityId: team.communityId,
    name: team.name,
    description: team.description,
    leaderUserId: team.leaderUserId,
    memberCount: team.members.length,
    createdAt: team.createdAt.toISOString(),
  };
}

function memberView(teamId: string, member: TeamMemberEntry, name: string) {
  return { teamId, userId: member.userId, name, role: member.role, joinedAt: member.joinedAt.toISOString() };
}

const teamsMax = 1000;

/**
 * Volunteer teams (服务队): an organizer forms one around a leader (队长); volunteers of the
 * community join or are added by the leader or an organizer, and leave or are removed. DOMAIN.md
 * gives leaders no say over activities, so a leader manages membership only.
 */
export class TeamService {
  constructor(
    private readonly models: VolunteerModels,
    private readonly membersMax: number,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** A user who may be in a team of the community: one of its volunteers. */
  private async volunteerOf(communityId: string, userId: string, path: string) {
    const user = await this.models.users.findById(userId, { communityId: 1, roles: 1, name: 1 }).lean();
    if (user?.communityId !== communityId)
      throw new DomainError('invalid_argument', `unknown_${path}`, 'No user of this community has that id.', [{ path, message: 'unknown user' }]);
    if (!user.roles.includes('volunteer')) throw refused('not_a_volunteer', 'Only approved volunteers can be in a team.');
    return user;
  }

  private async visibleTeam(caller: Caller, teamId: string): Promise<TeamDocument> {
    const team = await this.models.teams.findById(teamId).lean();
    if (team === null) throw notFound('The team');
    ensureVisible(caller, { id: team.communityId, street: team.street }, 'The team');
    return team;
  }

  /** Organizers of the team's community (and its street admins) and the team's leader manage its members. */
  private canManage(caller: Caller, team: TeamDocument): boolean {
    return hasRole(caller, 'organizer') || hasRole(caller, 'street_admin') || caller.userId === team.leaderUserId;
  }

  async createTeam(caller: Caller | undefined, input: { name: string; leaderUserId: string; description: string }) {
    const known = authorize(caller, 'team.create');
    const community = await findCommunity(this.models, known.communityId);
    await this.volunteerOf(community._id, input.leaderUserId, 'leaderUserId');
    const leader: TeamMemberEntry = { userId: input.leaderUserId, role: 'leader', joinedAt: this.now(), addedByUserId: known.userId };
    const team = await insertUnique(
      () =>
        this.models.teams.create({
          _id: randomUUID(),
          communityId: community._id,
          street: community.street,
          name: input.name,
          description: input.description,
          leaderUserId: input.leaderUserId,
          members: [leader],
          createdByUserId: known.userId,
        }),
      () => new DomainError('already_exists', 'team_exists', 'The community already has a team of that name.', [{ path: 'name', message: 'already exists' }]),
    );
    return teamView(team.toObject());
  }

  async listTeams(caller: Caller | undefined, input: { communityId?: string | undefined }) {
    const known = requireCaller(caller);
    const community = await findCommunity(this.models, input.communityId ?? known.communityId);
    ensureVisible(known, { id: community._id, street: community.street }, 'The community');
    const teams = await this.models.teams.find({ communityId: community._id }).sort({ name: 1 }).limit(teamsMax).lean();
    return { teams: teams.map(teamView) };
  }

  /**
   * Hands the team to another volunteer of its community (organizers): the old leader stays as a
   * member, the new one becomes the leader, added if not in yet. One conditional update on the
   * team as read (same leader, members at the same places), so a concurrent join, leave or
   * handover makes it miss, and it reads again.
   */
  async changeLeader(caller: Caller | undefined, teamId: string, leaderUserId: string) {
    const known = authorize(caller, 'team.lead');
    for (let attempt = 1; ; attempt += 1) {
      const team = await this.visibleTeam(known, teamId);
      if (team.leaderUserId === leaderUserId) return teamView(team);
      await this.volunteerOf(team.communityId, leaderUserId, 'leaderUserId');
      const oldIndex = team.members.findIndex((member) => member.userId === team.leaderUserId);
      const newIndex = team.members.findIndex((member) => member.userId === leaderUserId);
      const filter: Record<string, unknown> = { _id: team._id, leaderUserId: team.leaderUserId };
      const update: { $set: Record<string, unknown> } = { $set: { leaderUserId } };
      if (oldIndex >= 0) {
        filter[`members.${oldIndex}.userId`] = team.leaderUserId;
        update.$set[`members.${oldIndex}.role`] = 'member';
      }
      if (newIndex >= 0) {
        filter[`members.${newIndex}.userId`] = leaderUserId;
        update.$set[`members.${newIndex}.role`] = 'leader';
      } else {
        // Appended by setting the element just past the end (a $push would clash with the $set of
        // the old leader's role); the filter pins the length, so nothing else came in meanwhile.
        const length = team.members.length;
        if (length >= this.membersMax) throw conflict('team_full', `The team has its ${this.membersMax} members.`);
        filter['members.userId'] = { $ne: leaderUserId };
        filter[`members.${length}`] = { $exists: false };
        if (length > 0) filter[`members.${length - 1}.userId`] = team.members[length - 1]!.userId;
        update.$set[`members.${length}`] = {
          userId: leaderUserId,
          role: 'leader',
          joinedAt: this.now(),
          addedByUserId: known.userId,
        } satisfies TeamMemberEntry;
      }
      const changed = await this.models.teams.updateOne(filter, update);
      if (changed.modifiedCount === 1) return { ...teamView(team), leaderUserId, memberCount: team.members.length + (newIndex >= 0 ? 0 : 1) };
      if (attempt >= 5) throw conflict('team_changing', 'The team is changing right now; try again.');
    }
  }

  /**
   * Adds a member with one conditional push: not already in, and the team not full. When the
   * push does nothing, the team as it is now tells which of the two it was.
   */
  async addMember(caller: Caller | undefined, teamId: string, userId: string | undefined) {
    const known = requireCaller(caller);
    const team = await this.visibleTeam(known, teamId);
    const memberId = userId ?? known.userId;
    if (memberId !== known.userId && !this.canManage(known, team)) throw permissionDenied('Only the team’s leader or an organizer adds others.');
    const user = await this.volunteerOf(team.communityId, memberId, 'userId');
    const member: TeamMemberEntry = { userId: memberId, role: 'member', joinedAt: this.now(), addedByUserId: known.userId };
    const added = await this.models.teams.updateOne(
      { _id: team._id, 'members.userId': { $ne: memberId }, [`members.${this.membersMax - 1}`]: { $exists: false } },
      { $push: { members: member } },
    );
    if (added.modifiedCount === 0) {
      const current = await this.models.teams.findById(team._id, { members: 1 }).lean();
      if (current?.members.some((entry) => entry.userId === memberId)) throw conflict('already_member', 'That volunteer is already in the team.');
      throw conflict('team_full', `The team has its ${this.membersMax} members.`);
    }
    return memberView(team._id, member, user.name);
  }

  async removeMember(caller: Caller | undefined, teamId: string, userId: string | undefined) {
    const known = requireCaller(caller);
    const team = await this.visibleTeam(known, teamId);
    const memberId = userId ?? known.userId;
    if (memberId !== known.userId && !this.canManage(known, team)) throw permissionDenied('Only the team’s leader or an organizer removes others.');
    if (memberId === team.leaderUserId) throw conflict('leader_cannot_leave', 'The leader stays in the team.');
    const removed = await this.models.teams.updateOne({ _id: team._id, 'members.userId': memberId }, { $pull: { members: { userId: memberId } } });
    if (removed.modifiedCount === 0) throw notFound('The team member');
    return {};
  }

  async listMembers(caller: Caller | undefined, teamId: string) {
    const team = await this.visibleTeam(requireCaller(caller), teamId);
    const users = await this.models.users.find({ _id: { $in: team.members.map((member) => member.userId) } }, { name: 1 }).lean();
    const names = new Map(users.map((user) => [user._id, user.name]));
    const ordered = [...team.members].sort(
      (left, right) => Number(right.role === 'leader') - Number(left.role === 'leader') || left.joinedAt.getTime() - right.joinedAt.getTime(),
    );
    return { members: ordered.map((member) => memberView(team._id, member, names.get(member.userId) ?? '')) };
  }
}
