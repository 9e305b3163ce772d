import type { ActivityPatch } from '@lovepoints/contracts';
import { attendanceRewardPoints, attendanceVerified, attendanceVerifiedV2, createEvent } from '@lovepoints/events';
import { DomainError, notFound, permissionDenied, unauthenticated } from '@lovepoints/errors';
import { type Action, type Caller, type Role } from '@lovepoints/grpc';
import { insertUnique, isDuplicateKeyError } from '@lovepoints/mongo';
import { outboxEntry } from '@lovepoints/outbox';
import { randomUUID } from 'node:crypto';
import { authorize, canSeeCommunity, conflict, ensureCanManage, ensureVisible, hasRole, refused, requireCaller } from './domain/access';
import { activityChanges, ensureSchedule, lockedFields, rewardOf, signupWindowRefusal } from './domain/activity-rules';
import { attendedMinutes, distanceMeters, withinCheckinWindow } from './domain/attendance-rules';
import { issueCheckinCode, verifyCheckinCode } from './domain/checkin-code';
import { hashPassword, verifyPassword } from './domain/password';
import { findCommunity } from './store/lookups';
import type { ActivityDocument, AttendanceDocument, CommunityDocument, UserDocument, VolunteerModels, VolunteerProfileDocument } from './store/models';

export interface VolunteerSettings {
  checkinCodeSecret: string;
  checkinCodeLifetimeSeconds: number;
  checkinGraceMinutes: number;
  attendanceMinutesStep: number;
}

export interface UserView {
  id: string;
  name: string;
  phone: string;
  roles: string[];
  communityId: string;
  street: string;
  gridId: string;
  buildingId: string;
}

export interface ActivityInput {
  title: string;
  category: string;
  description: string;
  location: { lat: number; lng: number; radiusMeters: number };
  startAt: Date;
  endAt: Date;
  capacity: number;
  /** Points per hour, or 0 with `rewardPoints` set. */
  pointsPerHour: number;
  rewardPoints: number | null;
  signupOpensAt: Date | null;
  signupClosesAt: Date | null;
}

const source = 'volunteer';

export function userView(user: UserDocument): UserView {
  return {
    id: user._id,
    name: user.name,
    phone: user.phone,
    roles: user.roles,
    communityId: user.communityId,
    street: user.street,
    gridId: user.gridId ?? '',
    buildingId: user.buildingId ?? '',
  };
}

function communityView(community: CommunityDocument) {
  return { id: community._id, name: community.name, street: community.street, createdAt: community.createdAt.toISOString() };
}

function activityView(activity: ActivityDocument) {
  return {
    id: activity._id,
    communityId: activity.communityId,
    title: activity.title,
    category: activity.category,
    location: activity.location,
    startAt: activity.startAt.toISOString(),
    endAt: activity.endAt.toISOString(),
    capacity: activity.capacity,
    pointsPerHour: activity.pointsPerHour,
    ...(activity.rewardPoints === null ? {} : { rewardPoints: activity.rewardPoints }),
    description: activity.description,
    signupOpensAt: activity.signupOpensAt?.toISOString() ?? '',
    signupClosesAt: activity.signupClosesAt?.toISOString() ?? '',
    status: activity.status,
    confirmedCount: activity.confirmedCount,
    createdByUserId: activity.createdByUserId,
  };
}

function attendanceView(attendance: AttendanceDocument) {
  return {
    id: attendance._id,
    activityId: attendance.activityId,
    userId: attendance.userId,
    checkedInAt: attendance.checkedInAt.toISOString(),
    checkedOutAt: attendance.checkedOutAt?.toISOString() ?? '',
    minutes: attendance.minutes,
    status: attendance.status,
  };
}

function profileView(profile: VolunteerProfileDocument) {
  return {
    id: profile._id,
    userId: profile.userId,
    realName: profile.realName,
    skills: profile.skills,
    status: profile.status,
    communityId: profile.communityId,
    idNumberLast4: profile.idNumberLast4,
  };
}

/** Encodes a list position as an opaque cursor. */
function encodeCursor(offset: number): string {
  return Buffer.from(JSON.stringify({ offset })).toString('base64url');
}

function decodeCursor(cursor: string): number {
  if (cursor === '') return 0;
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as { offset?: unknown };
    if (typeof parsed.offset === 'number' && Number.isSafeInteger(parsed.offset) && parsed.offset >= 0) return parsed.offset;
  } catch {
    // Fall through to the refusal below.
  }
  throw new DomainError('invalid_argument', 'invalid_cursor', 'The cursor is not one this service issued.', [{ path: 'cursor', message: 'unknown cursor' }]);
}

/** Roles that each granting role may hand out. Street admin is never granted through the API. */
const grantableRoles: Record<'organizer' | 'street_admin', Role[]> = {
  organizer: ['volunteer', 'shopkeeper', 'organizer'],
  street_admin: ['resident', 'volunteer', 'shopkeeper', 'organizer'],
};

export class VolunteerService {
  constructor(
    private readonly models: VolunteerModels,
    private readonly settings: VolunteerSettings,
    private readonly afterEventsWritten: () => void,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private community(communityId: string): Promise<CommunityDocument> {
    return findCommunity(this.models, communityId);
  }

  private async visibleActivity(caller: Caller, activityId: string): Promise<ActivityDocument> {
    const activity = await this.models.activities.findById(activityId).lean();
    if (activity === null) throw notFound('The activity');
    ensureVisible(caller, { id: activity.communityId, street: (await this.community(activity.communityId)).street }, 'The activity');
    return activity;
  }

  /** An activity the caller may take a staff action on, by the policy table (another community's is not found). */
  private async managedActivity(caller: Caller, action: Action, activityId: string): Promise<ActivityDocument> {
    const activity = await this.models.activities.findById(activityId).lean();
    if (activity === null) throw notFound('The activity');
    ensureCanManage(caller, action, { id: activity.communityId, street: (await this.community(activity.communityId)).street }, 'The activity');
    return activity;
  }

  async registerUser(input: { phone: string; password: string; name: string; communityId: string }): Promise<UserView> {
    const community = await this.models.communities.findById(input.communityId).lean();
    if (community === null)
      throw new DomainError('invalid_argument', 'unknown_community', 'No community has that id.', [{ path: 'communityId', message: 'unknown community' }]);
    const passwordHash = await hashPassword(input.password);
    const user = await insertUnique(
      () =>
        this.models.users.create({
          _id: randomUUID(),
          phone: input.phone,
          passwordHash,
          name: input.name,
          roles: ['resident'],
          communityId: community._id,
          street: community.street,
        }),
      () => new DomainError('already_exists', 'phone_taken', 'That phone number is already registered.', [{ path: 'phone', message: 'already registered' }]),
    );
    return userView(user.toObject());
  }

  async verifyCredentials(input: { phone: string; password: string }): Promise<UserView> {
    const user = await this.models.users.findOne({ phone: input.phone }).lean();
    // The same answer for an unknown phone and a wrong password, so phones cannot be probed.
    if (user === null || !(await verifyPassword(input.password, user.passwordHash))) throw unauthenticated('The phone or password is wrong.');
    return userView(user);
  }

  async getUser(caller: Caller | undefined, userId: string): Promise<UserView> {
    const known = requireCaller(caller);
    const user = await this.models.users.findById(userId).lean();
    if (user === null) throw notFound('The user');
    if (user._id !== known.userId) ensureVisible(known, { id: user.communityId, street: user.street }, 'The user');
    return userView(user);
  }

  /** For platform services: one user by id or phone, whatever their community. */
  async lookUpUser(input: { userId: string; phone?: string }): Promise<UserView> {
    const user = input.userId !== '' ? await this.models.users.findById(input.userId).lean() : await this.models.users.findOne({ phone: input.phone }).lean();
    if (user === null) throw notFound('The user');
    return userView(user);
  }

  async getUserNames(caller: Caller | undefined, userIds: string[]) {
    const known = requireCaller(caller);
    const users = await this.models.users.find({ _id: { $in: userIds } }, { name: 1, communityId: 1, street: 1 }).lean();
    const visible = users.filter((user) => user._id === known.userId || canSeeCommunity(known, { id: user.communityId, street: user.street }));
    return { names: visible.map((user) => ({ userId: user._id, name: user.name })) };
  }

  async ensureStreetAdmin(input: { phone: string; password: string; name: string; street: string }): Promise<UserView> {
    const existing = await this.models.users.findOne({ phone: input.phone }).lean();
    if (existing !== null) return userView(existing);
    try {
      const user = await this.models.users.create({
        _id: randomUUID(),
        phone: input.phone,
        passwordHash: await hashPassword(input.password),
        name: input.name,
        roles: ['street_admin'],
        communityId: '',
        street: input.street,
      });
      return userView(user.toObject());
    } catch (error) {
      // Two gateways starting together may race; the other one created it.
      if (!isDuplicateKeyError(error)) throw error;
      const winner = await this.models.users.findOne({ phone: input.phone }).lean();
      if (winner === null) throw error;
      return userView(winner);
    }
  }

  async grantRole(caller: Caller | undefined, input: { userId: string; role: Role }): Promise<UserView> {
    const known = authorize(caller, 'role.grant');
    const user = await this.models.users.findById(input.userId).lean();
    if (user === null) throw notFound('The user');
    ensureCanManage(known, 'role.grant', { id: user.communityId, street: user.street }, 'The user');
    const allowed = new Set<Role>([
      ...(hasRole(known, 'organizer') ? grantableRoles.organizer : []),
      ...(hasRole(known, 'street_admin') ? grantableRoles.street_admin : []),
    ]);
    if (!allowed.has(input.role)) throw permissionDenied(`You cannot grant the role ${input.role}.`);
    const updated = await this.models.users.findByIdAndUpdate(user._id, { $addToSet: { roles: input.role } }, { new: true }).lean();
    if (updated === null) throw notFound('The user');
    return userView(updated);
  }

  async createCommunity(caller: Caller | undefined, input: { name: string; street: string }) {
    const known = authorize(caller, 'community.create');
    if (input.street !== known.street) throw permissionDenied('Street admins create communities in their own street only.');
    const community = await insertUnique(
      () => this.models.communities.create({ _id: randomUUID(), name: input.name, street: input.street }),
      () =>
        new DomainError('already_exists', 'community_exists', 'That street already has a community of that name.', [
          { path: 'name', message: 'already exists in this street' },
        ]),
    );
    return communityView(community.toObject());
  }

  async listCommunities(input: { street: string }) {
    const communities = await this.models.communities
      .find(input.street === '' ? {} : { street: input.street })
      .sort({ name: 1 })
      .limit(1000)
      .lean();
    return { communities: communities.map(communityView) };
  }

  async applyVolunteer(caller: Caller | undefined, input: { realName: string; skills: string[]; idNumber?: string | undefined }) {
    const known = requireCaller(caller);
    if (known.communityId === '') throw refused('no_community', 'Only members of a community can volunteer.');
    // ID numbers have little entropy (region, birth date), so a fast hash could be reversed by
    // trying them all; the password KDF (salted scrypt) makes that impractical.
    const idNumberHash = input.idNumber === undefined ? null : await hashPassword(input.idNumber);
    const idNumberLast4 = input.idNumber?.slice(-4) ?? '';
    const profile = await insertUnique(
      () =>
        this.models.profiles.create({
          _id: randomUUID(),
          userId: known.userId,
          communityId: known.communityId,
          realName: input.realName,
          skills: input.skills,
          status: 'pending',
          idNumberHash,
          idNumberLast4,
        }),
      () => conflict('already_applied', 'You already have a volunteer profile.'),
    );
    return profileView(profile.toObject());
  }

  async approveVolunteer(caller: Caller | undefined, profileId: string) {
    const known = authorize(caller, 'volunteer.approve');
    const profile = await this.models.profiles.findById(profileId).lean();
    if (profile === null) throw notFound('The volunteer profile');
    ensureCanManage(
      known,
      'volunteer.approve',
      { id: profile.communityId, street: (await this.community(profile.communityId)).street },
      'The volunteer profile',
    );
    const approved = await this.models.profiles
      .findOneAndUpdate({ _id: profileId, status: 'pending' }, { $set: { status: 'active', approvedByUserId: known.userId } }, { new: true })
      .lean();
    if (approved === null) throw conflict('not_pending', 'The profile is not waiting for approval.');
    await this.models.users.updateOne({ _id: profile.userId }, { $addToSet: { roles: 'volunteer' } });
    return profileView(approved);
  }

  async createActivity(caller: Caller | undefined, input: ActivityInput) {
    const known = authorize(caller, 'activity.create');
    ensureSchedule(input);
    const activity = await this.models.activities.create({
      _id: randomUUID(),
      communityId: known.communityId,
      createdByUserId: known.userId,
      status: 'draft',
      confirmedCount: 0,
      ...input,
    });
    return activityView(activity.toObject());
  }

  async publishActivity(caller: Caller | undefined, activityId: string) {
    const known = authorize(caller, 'activity.manage');
    const activity = await this.managedActivity(known, 'activity.manage', activityId);
    const published = await this.models.activities
      .findOneAndUpdate({ _id: activityId, status: 'draft' }, { $set: { status: 'published' } }, { new: true })
      .lean();
    if (published === null) throw conflict('not_draft', `The activity is ${activity.status}, not a draft.`);
    return activityView(published);
  }

  /**
   * Edits an activity within what its state allows (see activity-rules). The update is
   * conditional on the state read, so an edit racing the first check-in or a publication fails
   * with a conflict instead of applying to a state it was not checked against; and on the
   * confirmed count, so the capacity never drops below the places already given.
   */
  async updateActivity(caller: Caller | undefined, activityId: string, patch: ActivityPatch) {
    const known = authorize(caller, 'activity.manage');
    const activity = await this.managedActivity(known, 'activity.manage', activityId);
    if (activity.status !== 'draft' && activity.status !== 'published')
      throw conflict('activity_not_editable', `The activity is ${activity.status}; it can no longer be edited.`);
    const locked = lockedFields(activity.status, patch);
    if (locked.length > 0)
      throw new DomainError(
        'conflict',
        'field_locked',
        `The activity is ${activity.status}; ${locked.join(', ')} can no longer change.`,
        locked.map((path) => ({ path, message: `cannot change once ${activity.status}` })),
      );
    const changes = activityChanges(patch);
    ensureSchedule({ ...activity, ...changes });
    if (patch.capacity !== undefined && patch.capacity < activity.confirmedCount)
      throw conflict('capacity_below_confirmed', `${activity.confirmedCount} places are already confirmed; the capacity cannot go below that.`);
    const updated = await this.models.activities
      .findOneAndUpdate(
        { _id: activity._id, status: activity.status, ...(patch.capacity === undefined ? {} : { confirmedCount: { $lte: patch.capacity } }) },
        { $set: changes, $inc: { revision: 1 }, $push: { edits: { fields: Object.keys(changes), byUserId: known.userId, at: this.now() } } },
        { new: true },
      )
      .lean();
    if (updated === null) throw conflict('activity_changed', 'The activity changed meanwhile (a check-in, a sign-up or another edit); read it and try again.');
    if (updated.capacity <= activity.capacity) return activityView(updated);
    await this.promoteFromWaitlist(updated);
    return activityView((await this.models.activities.findById(activity._id).lean()) ?? updated);
  }

  async getActivity(caller: Caller | undefined, activityId: string) {
    return activityView(await this.visibleActivity(requireCaller(caller), activityId));
  }

  async listActivities(
    caller: Caller | undefined,
    input: { status?: string | undefined; communityId?: string | undefined; from?: Date | undefined; to?: Date | undefined; limit: number; cursor: string },
  ) {
    const known = requireCaller(caller);
    const offset = decodeCursor(input.cursor);
    const filter: Record<string, unknown> = { communityId: await this.listedCommunities(known, input.communityId) };
    if (input.status !== undefined) filter.status = input.status;
    if (input.from !== undefined || input.to !== undefined) {
      filter.startAt = { ...(input.from ? { $gte: input.from } : {}), ...(input.to ? { $lt: input.to } : {}) };
    }
    const page = await this.models.activities
      .find(filter)
      .sort({ startAt: -1, _id: 1 })
      .skip(offset)
      .limit(input.limit + 1)
      .lean();
    const items = page.slice(0, input.limit).map(activityView);
    return { items, nextCursor: page.length > input.limit ? encodeCursor(offset + input.limit) : '' };
  }

  /**
   * The communities a list covers: the one asked for if the caller may see it (else not found),
   * otherwise the caller's own, or for a street admin every community of their street.
   */
  private async listedCommunities(caller: Caller, communityId: string | undefined): Promise<string | { $in: string[] }> {
    if (communityId !== undefined) {
      ensureVisible(caller, { id: communityId, street: (await this.community(communityId)).street }, 'The community');
      return communityId;
    }
    if (!hasRole(caller, 'street_admin')) return caller.communityId;
    const communities = await this.models.communities.find({ street: caller.street }, { _id: 1 }).limit(1000).lean();
    return { $in: communities.map((community) => community._id) };
  }

  async signUp(caller: Caller | undefined, activityId: string) {
    const known = authorize(caller, 'activity.signup');
    const activity = await this.visibleActivity(known, activityId);
    if (activity.status !== 'published' && activity.status !== 'in_progress')
      throw refused('activity_not_open', `The activity is ${activity.status}; sign-ups are closed.`);
    if (activity.endAt.getTime() <= this.now().getTime()) throw refused('activity_ended', 'The activity has already ended.');
    const outsideWindow = signupWindowRefusal(this.now(), activity);
    if (outsideWindow !== undefined) throw refused(outsideWindow.code, outsideWindow.message);
    const signupId = `${activityId}:${known.userId}`;
    await insertUnique(
      () => this.models.signups.create({ _id: signupId, activityId, userId: known.userId, status: 'waitlisted' }),
      () => conflict('already_signed_up', 'You have already signed up for this activity.'),
    );
    if (!(await this.takeSeat(activity))) return { activityId, userId: known.userId, status: 'waitlisted' };
    const confirmed = await this.models.signups.updateOne({ _id: signupId, status: 'waitlisted' }, { $set: { status: 'confirmed' } });
    // A promotion from the waitlist may have confirmed this sign-up a moment earlier with a seat
    // of its own; then the seat just taken is one too many and goes back.
    if (confirmed.modifiedCount === 0)
      await this.models.activities.updateOne({ _id: activityId, confirmedCount: { $gt: 0 } }, { $inc: { confirmedCount: -1 } });
    return { activityId, userId: known.userId, status: 'confirmed' };
  }

  /**
   * Withdraws the caller's sign-up. A confirmed place is handed to the longest-waiting volunteer:
   * the seat is taken back by a conditional decrement and given again by the same conditional
   * increment sign-ups use, so the count never exceeds capacity however requests interleave.
   */
  async cancelSignUp(caller: Caller | undefined, activityId: string) {
    const known = authorize(caller, 'activity.signup');
    const activity = await this.visibleActivity(known, activityId);
    if (activity.status !== 'published' && activity.status !== 'in_progress') throw conflict('activity_not_open', `The activity is ${activity.status}.`);
    const signupId = `${activityId}:${known.userId}`;
    if ((await this.models.attendances.exists({ _id: signupId })) !== null)
      throw conflict('already_checked_in', 'You have checked in; ask the organizer instead.');
    const removed = await this.models.signups.findOneAndDelete({ _id: signupId }).lean();
    if (removed === null) throw notFound('Your sign-up');
    if (removed.status !== 'confirmed') return { promotedUserId: '' };
    await this.models.activities.updateOne({ _id: activityId, confirmedCount: { $gt: 0 } }, { $inc: { confirmedCount: -1 } });
    return { promotedUserId: (await this.promoteFromWaitlist(activity)) ?? '' };
  }

  /**
   * Takes one place by a conditional increment, so concurrent sign-ups never exceed capacity. The
   * increment is also conditional on the capacity it was checked against, so it cannot interleave
   * with an edit lowering the capacity; when an edit changed it, the seat is tried again against
   * the new capacity.
   */
  private async takeSeat(activity: { _id: string; capacity: number }): Promise<boolean> {
    let capacity = activity.capacity;
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const seat = await this.models.activities.updateOne({ _id: activity._id, capacity, confirmedCount: { $lt: capacity } }, { $inc: { confirmedCount: 1 } });
      if (seat.modifiedCount === 1) return true;
      const current = await this.models.activities.findById(activity._id, { capacity: 1 }).lean();
      if (current === null || current.capacity === capacity) return false;
      capacity = current.capacity;
    }
    return false;
  }

  /** Gives free places to waitlisted volunteers, oldest first; returns the first one promoted. */
  private async promoteFromWaitlist(activity: ActivityDocument): Promise<string | undefined> {
    let first: string | undefined;
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const waiting = await this.models.signups.find({ activityId: activity._id, status: 'waitlisted' }).sort({ createdAt: 1, _id: 1 }).limit(1).lean();
      const next = waiting[0];
      if (next === undefined) return first;
      if (!(await this.takeSeat(activity))) return first;
      const promoted = await this.models.signups.updateOne({ _id: next._id, status: 'waitlisted' }, { $set: { status: 'confirmed', promotedAt: this.now() } });
      if (promoted.modifiedCount === 1) {
        first ??= next.userId;
        continue;
      }
      // That volunteer withdrew in the meantime: give the seat back and try the next one.
      await this.models.activities.updateOne({ _id: activity._id, confirmedCount: { $gt: 0 } }, { $inc: { confirmedCount: -1 } });
    }
    return first;
  }

  async getCheckinCode(caller: Caller | undefined, activityId: string) {
    const known = authorize(caller, 'activity.manage');
    const activity = await this.managedActivity(known, 'activity.manage', activityId);
    if (activity.status !== 'published' && activity.status !== 'in_progress') throw refused('activity_not_open', `The activity is ${activity.status}.`);
    const { code, expiresAt } = issueCheckinCode(this.codeSettings(), activityId, this.now());
    return { code, expiresAt: expiresAt.toISOString() };
  }

  private codeSettings() {
    return { secret: this.settings.checkinCodeSecret, lifetimeSeconds: this.settings.checkinCodeLifetimeSeconds };
  }

  /** The checks shared by check-in and check-out: open activity, place, time and code. */
  private async checkPresence(caller: Caller | undefined, input: { activityId: string; code: string; lat: number; lng: number }) {
    const known = authorize(caller, 'attendance.check');
    const activity = await this.visibleActivity(known, input.activityId);
    if (activity.status !== 'published' && activity.status !== 'in_progress') throw refused('activity_not_open', `The activity is ${activity.status}.`);
    const now = this.now();
    switch (verifyCheckinCode(this.codeSettings(), input.activityId, input.code, now)) {
      case 'valid':
        break;
      case 'expired':
        throw refused('checkin_code_expired', 'The check-in code has expired; scan the current one.');
      case 'wrong_activity':
        throw refused('checkin_code_wrong_activity', 'That code belongs to another activity.');
      case 'malformed':
        throw refused('checkin_code_invalid', 'That is not a valid check-in code.');
    }
    const distance = distanceMeters({ lat: input.lat, lng: input.lng }, activity.location);
    if (distance > activity.location.radiusMeters)
      throw refused('outside_geofence', `You are ${Math.round(distance)} m from the activity; check in within ${activity.location.radiusMeters} m.`);
    return { known, activity, now };
  }

  async checkIn(caller: Caller | undefined, input: { activityId: string; code: string; lat: number; lng: number }) {
    const { known, activity, now } = await this.checkPresence(caller, input);
    if (!withinCheckinWindow(now, activity, this.settings.checkinGraceMinutes))
      throw refused('outside_time_window', 'Check-in is open from shortly before the start until the end of the activity.');
    const signup = await this.models.signups.findById(`${activity._id}:${known.userId}`).lean();
    if (signup?.status !== 'confirmed') throw refused('not_confirmed', 'Only volunteers with a confirmed sign-up can check in.');
    const attendance = await this.insertCheckIn(activity, { userId: known.userId, checkedInAt: now, manualEntries: [] }, () =>
      conflict('already_checked_in', 'You have already checked in to this activity.'),
    );
    return attendanceView(attendance);
  }

  /**
   * Records a check-in. The activity leaves `published` first: edits of its times and place are
   * allowed only while it is published, so from then on no edit can move the window or the place
   * this check-in was checked against. The move is conditional on the revision read, and an edit
   * that came in between (even if someone else's check-in has since started the activity) makes
   * this check-in a conflict, to be repeated against the new times.
   */
  private async insertCheckIn(
    activity: ActivityDocument,
    fields: Pick<AttendanceDocument, 'userId' | 'checkedInAt' | 'manualEntries'>,
    duplicate: () => DomainError,
  ): Promise<AttendanceDocument> {
    const started = await this.models.activities.updateOne(
      { _id: activity._id, status: { $in: ['published', 'in_progress'] }, revision: activity.revision },
      { $set: { status: 'in_progress' } },
    );
    if (started.matchedCount === 0) throw conflict('activity_changed', 'The activity changed a moment ago; check in again.');
    const attendance = await insertUnique(
      () =>
        this.models.attendances.create({
          _id: `${activity._id}:${fields.userId}`,
          activityId: activity._id,
          communityId: activity.communityId,
          status: 'checked_in',
          ...fields,
        }),
      duplicate,
    );
    return attendance.toObject();
  }

  async checkOut(caller: Caller | undefined, input: { activityId: string; code: string; lat: number; lng: number }) {
    const { known, activity, now } = await this.checkPresence(caller, input);
    const attendanceId = `${activity._id}:${known.userId}`;
    const attendance = await this.models.attendances.findById(attendanceId).lean();
    if (attendance === null) throw refused('not_checked_in', 'Check in before checking out.');
    const minutes = attendedMinutes({ checkedInAt: attendance.checkedInAt, checkedOutAt: now }, activity, this.settings.attendanceMinutesStep);
    const updated = await this.models.attendances
      .findOneAndUpdate({ _id: attendanceId, status: 'checked_in' }, { $set: { status: 'checked_out', checkedOutAt: now, minutes } }, { new: true })
      .lean();
    if (updated === null) throw conflict('already_checked_out', 'You have already checked out.');
    return attendanceView(updated);
  }

  /**
   * An organizer's hand-made check-in or check-out (a dead phone, a forgotten scan). It obeys the
   * same rules as the volunteer's own (a confirmed sign-up, once each, inside the window) except
   * the code and the place, and keeps who did it and why.
   */
  async recordAttendance(
    caller: Caller | undefined,
    input: { activityId: string; userId: string; action: 'check_in' | 'check_out'; at?: string | undefined; reason: string },
  ) {
    const known = authorize(caller, 'attendance.record');
    const activity = await this.managedActivity(known, 'attendance.record', input.activityId);
    if (activity.status !== 'published' && activity.status !== 'in_progress') throw conflict('activity_not_open', `The activity is ${activity.status}.`);
    const now = this.now();
    const at = input.at === undefined ? now : new Date(input.at);
    if (at.getTime() > now.getTime())
      throw new DomainError('invalid_argument', 'time_in_future', 'That time has not come yet.', [{ path: 'at', message: 'in the future' }]);
    const attendanceId = `${activity._id}:${input.userId}`;
    const entry = { action: input.action, at, reason: input.reason, byUserId: known.userId, recordedAt: now };
    if (input.action === 'check_in') {
      if (!withinCheckinWindow(at, activity, this.settings.checkinGraceMinutes))
        throw refused('outside_time_window', 'That time is outside the check-in window.');
      const signup = await this.models.signups.findById(attendanceId).lean();
      if (signup?.status !== 'confirmed') throw refused('not_confirmed', 'Only volunteers with a confirmed sign-up can be checked in.');
      const attendance = await this.insertCheckIn(activity, { userId: input.userId, checkedInAt: at, manualEntries: [entry] }, () =>
        conflict('already_checked_in', 'That volunteer has already checked in.'),
      );
      return attendanceView(attendance);
    }
    const attendance = await this.models.attendances.findById(attendanceId).lean();
    if (attendance === null) throw refused('not_checked_in', 'That volunteer has not checked in.');
    if (at.getTime() < attendance.checkedInAt.getTime())
      throw new DomainError('invalid_argument', 'before_check_in', 'A check-out cannot come before the check-in.', [
        { path: 'at', message: 'before the check-in' },
      ]);
    const minutes = attendedMinutes({ checkedInAt: attendance.checkedInAt, checkedOutAt: at }, activity, this.settings.attendanceMinutesStep);
    const updated = await this.models.attendances
      .findOneAndUpdate(
        { _id: attendanceId, status: 'checked_in' },
        { $set: { status: 'checked_out', checkedOutAt: at, minutes }, $push: { manualEntries: entry } },
        { new: true },
      )
      .lean();
    if (updated === null) throw conflict('already_checked_out', 'That volunteer has already checked out.');
    return attendanceView(updated);
  }

  async cancelActivity(caller: Caller | undefined, input: { activityId: string; reason: string }) {
    const known = authorize(caller, 'activity.manage');
    const activity = await this.managedActivity(known, 'activity.manage', input.activityId);
    const cancelled = await this.models.activities
      .findOneAndUpdate(
        { _id: activity._id, status: { $in: ['draft', 'published', 'in_progress'] } },
        { $set: { status: 'cancelled', cancelReason: input.reason } },
        { new: true },
      )
      .lean();
    if (cancelled === null) throw conflict('activity_closed', `The activity is ${activity.status}; it can no longer be cancelled.`);
    return activityView(cancelled);
  }

  /**
   * The AttendanceVerified event of one attendance; its id is derived from the attendance, so
   * completing again produces the same event. Hourly rewards travel as version 1, which every
   * consumer knows; fixed rewards need version 2.
   */
  private attendanceVerifiedEvent(activity: ActivityDocument, attendance: { attendanceId: string; userId: string; minutes: number; verifiedAt: Date }) {
    const fields = { id: `attendance-verified:${attendance.attendanceId}`, source, subject: attendance.attendanceId };
    const facts = { ...attendance, activityId: activity._id, communityId: activity.communityId, verifiedAt: attendance.verifiedAt.toISOString() };
    const reward = rewardOf(activity);
    return reward.rule === 'per_hour'
      ? createEvent(attendanceVerified, { ...fields, data: { ...facts, pointsPerHour: reward.pointsPerHour } })
      : createEvent(attendanceVerifiedV2, { ...fields, data: { ...facts, reward } });
  }

  /**
   * Verifies every attendance of the activity and completes it. Each attendance is verified by
   * one conditional single-document update that also stores its AttendanceVerified event (the
   * outbox), so a crash part-way leaves some attendances verified with their events and the rest
   * untouched; completing again finishes the job without repeating any.
   */
  async completeActivity(caller: Caller | undefined, input: { activityId: string; adjustments: { userId: string; minutes: number; reason: string }[] }) {
    const known = authorize(caller, 'activity.complete');
    const activity = await this.managedActivity(known, 'activity.complete', input.activityId);
    if (activity.status !== 'published' && activity.status !== 'in_progress')
      throw conflict('activity_not_open', `The activity is ${activity.status}; only an open activity can be completed.`);
    const now = this.now();
    const attendances = await this.models.attendances.find({ activityId: activity._id }).lean();
    const byUser = new Map(attendances.map((attendance) => [attendance.userId, attendance]));
    for (const adjustment of input.adjustments) {
      if (!byUser.has(adjustment.userId)) {
        throw new DomainError('business_rule', 'no_attendance', `User ${adjustment.userId} has no check-in at this activity to correct.`, [
          { path: 'adjustments', message: `no attendance for ${adjustment.userId}` },
        ]);
      }
    }
    const adjustments = new Map(input.adjustments.map((adjustment) => [adjustment.userId, adjustment]));
    const verified: { attendanceId: string; userId: string; minutes: number; points: number; checkoutMissing: boolean }[] = [];
    for (const attendance of attendances) {
      const adjustment = adjustments.get(attendance.userId);
      const checkoutMissing = attendance.status === 'checked_in';
      const closedAt = attendance.checkedOutAt ?? new Date(Math.min(now.getTime(), activity.endAt.getTime()));
      const measuredMinutes =
        attendance.status === 'verified'
          ? attendance.minutes
          : attendedMinutes({ checkedInAt: attendance.checkedInAt, checkedOutAt: closedAt }, activity, this.settings.attendanceMinutesStep);
      const minutes = adjustment?.minutes ?? measuredMinutes;
      if (attendance.status !== 'verified') {
        const event = this.attendanceVerifiedEvent(activity, { attendanceId: attendance._id, userId: attendance.userId, minutes, verifiedAt: now });
        await this.models.attendances.updateOne(
          { _id: attendance._id, status: { $ne: 'verified' } },
          {
            $set: { status: 'verified', minutes, verifiedAt: now, checkoutMissing, checkedOutAt: closedAt },
            $push: {
              outbox: outboxEntry(attendanceVerified.topic, event),
              ...(adjustment ? { corrections: { minutes: adjustment.minutes, reason: adjustment.reason, byUserId: known.userId, at: now } } : {}),
            },
          },
        );
      }
      verified.push({
        attendanceId: attendance._id,
        userId: attendance.userId,
        minutes,
        points: attendanceRewardPoints({ minutes, reward: rewardOf(activity) }),
        checkoutMissing: attendance.status === 'verified' ? attendance.checkoutMissing : checkoutMissing,
      });
    }
    await this.models.activities.updateOne({ _id: activity._id }, { $set: { status: 'completed' } });
    this.afterEventsWritten();
    return { attendances: verified };
  }
}
