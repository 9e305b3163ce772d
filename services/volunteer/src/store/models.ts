import type { Connection } from '@lovepoints/mongo';
import { outboxSchemaFields } from '@lovepoints/outbox';
import { Schema } from 'mongoose';

/**
 * Documents of the volunteer database. Ids are strings chosen by the service (UUIDs, or derived
 * ids such as `<activityId>:<userId>` where one document per pair is the rule).
 */
export interface UserDocument {
  _id: string;
  phone: string;
  passwordHash: string;
  name: string;
  roles: string[];
  communityId: string;
  street: string;
  /** Where in the community the user lives; '' when not given. */
  gridId: string;
  buildingId: string;
  createdAt: Date;
}

export interface CommunityDocument {
  _id: string;
  name: string;
  street: string;
  createdAt: Date;
}

export interface VolunteerProfileDocument {
  _id: string;
  userId: string;
  communityId: string;
  realName: string;
  skills: string[];
  status: 'pending' | 'active' | 'rejected';
  /** A salted scrypt hash of the ID number; the number itself is never stored. */
  idNumberHash: string | null;
  idNumberLast4: string;
  approvedByUserId: string | null;
  createdAt: Date;
}

export interface GridDocument {
  _id: string;
  communityId: string;
  /** The community's street, kept here so visibility is checked without reading the community. */
  street: string;
  name: string;
  leaderUserId: string | null;
  createdAt: Date;
}

export interface BuildingDocument {
  _id: string;
  gridId: string;
  communityId: string;
  street: string;
  name: string;
  createdAt: Date;
}

export interface TeamMemberEntry {
  userId: string;
  role: 'leader' | 'member';
  joinedAt: Date;
  addedByUserId: string;
}

/**
 * A volunteer team (服务队). Members live inside the team document, so joining, leaving and the
 * size limit are each one conditional single-document update.
 */
export interface TeamDocument {
  _id: string;
  communityId: string;
  street: string;
  name: string;
  description: string;
  leaderUserId: string;
  members: TeamMemberEntry[];
  createdByUserId: string;
  createdAt: Date;
}

export type ActivityStatus = 'draft' | 'published' | 'in_progress' | 'completed' | 'cancelled';

export interface ActivityDocument {
  _id: string;
  communityId: string;
  title: string;
  category: string;
  location: { lat: number; lng: number; radiusMeters: number };
  startAt: Date;
  endAt: Date;
  capacity: number;
  /** Points per verified hour; 0 when the activity gives a fixed reward instead. */
  pointsPerHour: number;
  /** Fixed points per verified attendance, or null when the activity pays by the hour. */
  rewardPoints: number | null;
  description: string;
  signupOpensAt: Date | null;
  signupClosesAt: Date | null;
  status: ActivityStatus;
  confirmedCount: number;
  createdByUserId: string;
  createdAt: Date;
  cancelReason: string;
  /** Counts the edits, so a check-in can tell whether the times it was checked against still hold. */
  revision: number;
  /** Who changed which fields after creation, and when. */
  edits: { fields: string[]; byUserId: string; at: Date }[];
}

export interface SignupDocument {
  _id: string;
  activityId: string;
  userId: string;
  status: 'confirmed' | 'waitlisted';
  createdAt: Date;
  /** When the volunteer was promoted from the waitlist, if they were. */
  promotedAt: Date | null;
}

export interface AttendanceDocument {
  _id: string;
  activityId: string;
  userId: string;
  communityId: string;
  checkedInAt: Date;
  checkedOutAt: Date | null;
  minutes: number;
  status: 'checked_in' | 'checked_out' | 'verified';
  /** Set when the check-out was missing and the stay was closed at the activity's end. */
  checkoutMissing: boolean;
  corrections: { minutes: number; reason: string; byUserId: string; at: Date }[];
  /** Check-ins and check-outs an organizer recorded by hand, with why and by whom. */
  manualEntries: { action: 'check_in' | 'check_out'; at: Date; reason: string; byUserId: string; recordedAt: Date }[];
  verifiedAt: Date | null;
}

export type ReportLevel = 'grid' | 'community' | 'street';

export interface ReportDocument {
  _id: string;
  communityId: string;
  street: string;
  /** The grid it concerns; '' when none was known, and then it started at community level. */
  gridId: string;
  reporterUserId: string;
  category: string;
  text: string;
  address: string;
  photoUrl: string;
  status: 'open' | 'accepted' | 'rejected';
  level: ReportLevel;
  deadlineAt: Date;
  escalations: { fromLevel: ReportLevel; toLevel: ReportLevel; at: Date }[];
  decidedByUserId: string | null;
  decisionNote: string;
  awardPoints: number;
  createdAt: Date;
}

export function createModels(connection: Connection) {
  const users = connection.model<UserDocument>(
    'User',
    new Schema<UserDocument>({
      _id: String,
      phone: { type: String, required: true, unique: true },
      passwordHash: { type: String, required: true },
      name: { type: String, required: true },
      roles: { type: [String], default: ['resident'] },
      communityId: { type: String, default: '' },
      street: { type: String, default: '' },
      gridId: { type: String, default: '' },
      buildingId: { type: String, default: '' },
      createdAt: { type: Date, default: () => new Date() },
    }),
  );
  const communitySchema = new Schema<CommunityDocument>({
    _id: String,
    name: { type: String, required: true },
    street: { type: String, required: true },
    createdAt: { type: Date, default: () => new Date() },
  });
  communitySchema.index({ street: 1, name: 1 }, { unique: true });
  const communities = connection.model<CommunityDocument>('Community', communitySchema);
  const gridSchema = new Schema<GridDocument>({
    _id: String,
    communityId: { type: String, required: true },
    street: { type: String, required: true },
    name: { type: String, required: true },
    leaderUserId: { type: String, default: null },
    createdAt: { type: Date, default: () => new Date() },
  });
  gridSchema.index({ communityId: 1, name: 1 }, { unique: true });
  const grids = connection.model<GridDocument>('Grid', gridSchema);
  const buildingSchema = new Schema<BuildingDocument>({
    _id: String,
    gridId: { type: String, required: true },
    communityId: { type: String, required: true },
    street: { type: String, required: true },
    name: { type: String, required: true },
    createdAt: { type: Date, default: () => new Date() },
  });
  buildingSchema.index({ gridId: 1, name: 1 }, { unique: true });
  const buildings = connection.model<BuildingDocument>('Building', buildingSchema);
  const teamSchema = new Schema<TeamDocument>({
    _id: String,
    communityId: { type: String, required: true },
    street: { type: String, required: true },
    name: { type: String, required: true },
    description: { type: String, default: '' },
    leaderUserId: { type: String, required: true },
    members: { type: [{ _id: false, userId: String, role: String, joinedAt: Date, addedByUserId: String }], default: [] },
    createdByUserId: { type: String, required: true },
    createdAt: { type: Date, default: () => new Date() },
  });
  teamSchema.index({ communityId: 1, name: 1 }, { unique: true });
  const teams = connection.model<TeamDocument>('Team', teamSchema);
  const profiles = connection.model<VolunteerProfileDocument>(
    'VolunteerProfile',
    new Schema<VolunteerProfileDocument>({
      _id: String,
      userId: { type: String, required: true, unique: true },
      communityId: { type: String, required: true, index: true },
      realName: { type: String, required: true },
      skills: { type: [String], default: [] },
      status: { type: String, required: true },
      idNumberHash: { type: String, default: null },
      idNumberLast4: { type: String, default: '' },
      approvedByUserId: { type: String, default: null },
      createdAt: { type: Date, default: () => new Date() },
    }),
  );
  const activitySchema = new Schema<ActivityDocument>({
    _id: String,
    communityId: { type: String, required: true },
    title: { type: String, required: true },
    category: { type: String, required: true },
    location: { lat: Number, lng: Number, radiusMeters: Number },
    startAt: { type: Date, required: true },
    endAt: { type: Date, required: true },
    capacity: { type: Number, required: true },
    pointsPerHour: { type: Number, required: true },
    rewardPoints: { type: Number, default: null },
    description: { type: String, default: '' },
    signupOpensAt: { type: Date, default: null },
    signupClosesAt: { type: Date, default: null },
    status: { type: String, required: true },
    confirmedCount: { type: Number, default: 0 },
    createdByUserId: { type: String, required: true },
    createdAt: { type: Date, default: () => new Date() },
    cancelReason: { type: String, default: '' },
    revision: { type: Number, default: 0 },
    edits: { type: [{ _id: false, fields: [String], byUserId: String, at: Date }], default: [] },
  });
  activitySchema.index({ communityId: 1, startAt: -1 });
  const activities = connection.model<ActivityDocument>('Activity', activitySchema);
  const signups = connection.model<SignupDocument>(
    'Signup',
    new Schema<SignupDocument>({
      _id: String,
      activityId: { type: String, required: true, index: true },
      userId: { type: String, required: true },
      status: { type: String, required: true },
      createdAt: { type: Date, default: () => new Date() },
      promotedAt: { type: Date, default: null },
    }),
  );
  const attendances = connection.model<AttendanceDocument>(
    'Attendance',
    new Schema<AttendanceDocument>({
      _id: String,
      activityId: { type: String, required: true, index: true },
      userId: { type: String, required: true },
      communityId: { type: String, required: true },
      checkedInAt: { type: Date, required: true },
      checkedOutAt: { type: Date, default: null },
      minutes: { type: Number, default: 0 },
      status: { type: String, required: true },
      checkoutMissing: { type: Boolean, default: false },
      corrections: { type: [{ _id: false, minutes: Number, reason: String, byUserId: String, at: Date }], default: [] },
      manualEntries: { type: [{ _id: false, action: String, at: Date, reason: String, byUserId: String, recordedAt: Date }], default: [] },
      verifiedAt: { type: Date, default: null },
      ...outboxSchemaFields,
    }),
  );
  const reportSchema = new Schema<ReportDocument>({
    _id: String,
    communityId: { type: String, required: true },
    street: { type: String, required: true },
    gridId: { type: String, default: '' },
    reporterUserId: { type: String, required: true },
    category: { type: String, required: true },
    text: { type: String, required: true },
    address: { type: String, default: '' },
    photoUrl: { type: String, default: '' },
    status: { type: String, required: true },
    level: { type: String, required: true },
    deadlineAt: { type: Date, required: true },
    escalations: { type: [{ _id: false, fromLevel: String, toLevel: String, at: Date }], default: [] },
    decidedByUserId: { type: String, default: null },
    decisionNote: { type: String, default: '' },
    awardPoints: { type: Number, default: 0 },
    createdAt: { type: Date, default: () => new Date() },
    ...outboxSchemaFields,
  });
  reportSchema.index({ communityId: 1, createdAt: -1 });
  reportSchema.index({ status: 1, deadlineAt: 1 });
  const reports = connection.model<ReportDocument>('Report', reportSchema);
  return { users, communities, grids, buildings, teams, profiles, activities, signups, attendances, reports };
}

export type VolunteerModels = ReturnType<typeof createModels>;

/** Collections whose documents carry outbox events, for the relay. */
export const outboxCollections = ['attendances', 'reports'];
