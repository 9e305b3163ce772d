import {
  acceptReportInput,
  applyVolunteerInput,
  cancelActivityInput,
  checkInput,
  completeActivityInput,
  createActivityInput,
  createCommunityInput,
  fileReportInput,
  grantRoleInput,
  identifier,
  listActivitiesInput,
  loginInput,
  phone,
  recordAttendanceInput,
  registerInput,
  rejectReportInput,
  updateActivityInput,
  createBuildingInput,
  createGridInput,
  listReportsInput,
  updateGridInput,
  updateMyPlaceInput,
  addTeamMemberInput,
  changeTeamLeaderInput,
  createTeamInput,
} from '@lovepoints/contracts';
import { parseInput } from '@lovepoints/errors';
import { type AsyncHandlers, requireServiceCaller, type volunteerV1 } from '@lovepoints/grpc';
import { z } from 'zod';
import type { PlaceService } from '../place.service';
import type { ReportService } from '../report.service';
import type { TeamService } from '../team.service';
import type { VolunteerService } from '../volunteer.service';

/** proto3 sends absent strings as ''; optional filters treat that as "not given". */
const optional = (value: string) => (value === '' ? undefined : value);
const optionalDate = (value: string | undefined) => (value === undefined ? null : new Date(value));
/** In an edit, a present empty string removes the value (JSON `null` at the gateway). */
const presentOrCleared = (value: string | undefined) => (value === '' ? null : value);

/** Thin transport: parse with the shared contract schemas, call the service, return its view. */
export function volunteerHandlers(
  service: VolunteerService,
  reports: ReportService,
  places: PlaceService,
  teams: TeamService,
  bootstrapInput: z.ZodType<{ phone: string; password: string; name: string; street: string }>,
): AsyncHandlers<volunteerV1.VolunteerServiceHandlers> {
  return {
    RegisterUser: (request) => service.registerUser(parseInput(registerInput, request)),
    VerifyCredentials: (request) => service.verifyCredentials(parseInput(loginInput, request)),
    GetUser: (request, caller) => service.getUser(caller, parseInput(identifier, request.userId, 'userId')),
    GetUserNames: (request, caller) => service.getUserNames(caller, parseInput(z.array(identifier).max(100), request.userIds, 'userIds')),
    LookUpUser: (request, caller) => {
      requireServiceCaller(caller, 'User look-ups');
      return service.lookUpUser(
        parseInput(z.union([z.object({ userId: identifier }), z.object({ userId: z.literal(''), phone })]), { userId: request.userId, phone: request.phone }),
      );
    },
    EnsureStreetAdmin: (request) => service.ensureStreetAdmin(parseInput(bootstrapInput, request)),
    GrantRole: (request, caller) =>
      service.grantRole(caller, { userId: parseInput(identifier, request.userId, 'userId'), role: parseInput(grantRoleInput, request).role }),
    CreateCommunity: (request, caller) => service.createCommunity(caller, parseInput(createCommunityInput, request)),
    ListCommunities: (request) => service.listCommunities({ street: request.street }),
    ApplyVolunteer: (request, caller) => service.applyVolunteer(caller, parseInput(applyVolunteerInput, { ...request, idNumber: optional(request.idNumber) })),
    ApproveVolunteer: (request, caller) => service.approveVolunteer(caller, parseInput(identifier, request.profileId, 'profileId')),
    CreateActivity: (request, caller) => {
      const input = parseInput(createActivityInput, {
        ...request,
        signupOpensAt: optional(request.signupOpensAt),
        signupClosesAt: optional(request.signupClosesAt),
      });
      return service.createActivity(caller, {
        ...input,
        pointsPerHour: input.pointsPerHour ?? 0,
        rewardPoints: input.rewardPoints ?? null,
        startAt: new Date(input.startAt),
        endAt: new Date(input.endAt),
        signupOpensAt: optionalDate(input.signupOpensAt),
        signupClosesAt: optionalDate(input.signupClosesAt),
      });
    },
    PublishActivity: (request, caller) => service.publishActivity(caller, parseInput(identifier, request.activityId, 'activityId')),
    GetActivity: (request, caller) => service.getActivity(caller, parseInput(identifier, request.activityId, 'activityId')),
    ListActivities: (request, caller) => {
      const input = parseInput(listActivitiesInput, {
        status: optional(request.status),
        communityId: optional(request.communityId),
        from: optional(request.from),
        to: optional(request.to),
        limit: request.page?.limit || undefined,
        cursor: request.page?.cursor ?? '',
      });
      return service.listActivities(caller, {
        ...input,
        from: input.from === undefined ? undefined : new Date(input.from),
        to: input.to === undefined ? undefined : new Date(input.to),
      });
    },
    SignUp: (request, caller) => service.signUp(caller, parseInput(identifier, request.activityId, 'activityId')),
    CancelSignUp: (request, caller) => service.cancelSignUp(caller, parseInput(identifier, request.activityId, 'activityId')),
    GetCheckinCode: (request, caller) => service.getCheckinCode(caller, parseInput(identifier, request.activityId, 'activityId')),
    CheckIn: (request, caller) =>
      service.checkIn(caller, { activityId: parseInput(identifier, request.activityId, 'activityId'), ...parseInput(checkInput, request) }),
    CheckOut: (request, caller) =>
      service.checkOut(caller, { activityId: parseInput(identifier, request.activityId, 'activityId'), ...parseInput(checkInput, request) }),
    FileReport: (request, caller) => reports.fileReport(caller, parseInput(fileReportInput, { ...request, gridId: optional(request.gridId) })),
    ListReports: (request, caller) =>
      reports.listReports(
        caller,
        parseInput(listReportsInput, {
          status: optional(request.status),
          communityId: optional(request.communityId),
          gridId: optional(request.gridId),
          level: optional(request.level),
        }),
      ),
    AcceptReport: (request, caller) =>
      reports.acceptReport(caller, parseInput(identifier, request.reportId, 'reportId'), parseInput(acceptReportInput, request)),
    RejectReport: (request, caller) =>
      reports.rejectReport(caller, parseInput(identifier, request.reportId, 'reportId'), parseInput(rejectReportInput, request).reason),
    EscalateOverdueReports: (request, caller) => {
      requireServiceCaller(caller, 'Escalation sweeps');
      const asOf = parseInput(z.iso.datetime({ offset: true }).optional(), optional(request.asOf), 'asOf');
      return reports.escalateOverdue(asOf === undefined ? new Date() : new Date(asOf));
    },
    RecordAttendance: (request, caller) =>
      service.recordAttendance(caller, {
        activityId: parseInput(identifier, request.activityId, 'activityId'),
        ...parseInput(recordAttendanceInput, { ...request, at: optional(request.at) }),
      }),
    CancelActivity: (request, caller) =>
      service.cancelActivity(caller, { activityId: parseInput(identifier, request.activityId, 'activityId'), ...parseInput(cancelActivityInput, request) }),
    CompleteActivity: (request, caller) =>
      service.completeActivity(caller, { activityId: parseInput(identifier, request.activityId, 'activityId'), ...parseInput(completeActivityInput, request) }),
    UpdateActivity: (request, caller) =>
      service.updateActivity(
        caller,
        parseInput(identifier, request.activityId, 'activityId'),
        parseInput(updateActivityInput, {
          ...request,
          location: request.location ?? undefined,
          signupOpensAt: presentOrCleared(request.signupOpensAt),
          signupClosesAt: presentOrCleared(request.signupClosesAt),
        }),
      ),
    CreateGrid: (request, caller) =>
      places.createGrid(caller, {
        communityId: parseInput(identifier, request.communityId, 'communityId'),
        ...parseInput(createGridInput, { ...request, leaderUserId: optional(request.leaderUserId) }),
      }),
    ListGrids: (request, caller) => places.listGrids(caller, parseInput(identifier, request.communityId, 'communityId')),
    UpdateGrid: (request, caller) =>
      places.updateGrid(
        caller,
        parseInput(identifier, request.gridId, 'gridId'),
        parseInput(updateGridInput, { name: request.name, leaderUserId: presentOrCleared(request.leaderUserId) }),
      ),
    CreateBuilding: (request, caller) =>
      places.createBuilding(caller, parseInput(identifier, request.gridId, 'gridId'), parseInput(createBuildingInput, request)),
    ListBuildings: (request, caller) => places.listBuildings(caller, parseInput(identifier, request.gridId, 'gridId')),
    UpdateMyPlace: (request, caller) =>
      places.updateMyPlace(
        caller,
        parseInput(updateMyPlaceInput, { gridId: presentOrCleared(request.gridId), buildingId: presentOrCleared(request.buildingId) }),
      ),
    CreateTeam: (request, caller) => teams.createTeam(caller, parseInput(createTeamInput, request)),
    ListTeams: (request, caller) => teams.listTeams(caller, { communityId: parseInput(identifier.optional(), optional(request.communityId), 'communityId') }),
    ChangeTeamLeader: (request, caller) =>
      teams.changeLeader(
        caller,
        parseInput(identifier, request.teamId, 'teamId'),
        parseInput(changeTeamLeaderInput, { leaderUserId: request.leaderUserId }).leaderUserId,
      ),
    AddTeamMember: (request, caller) =>
      teams.addMember(caller, parseInput(identifier, request.teamId, 'teamId'), parseInput(addTeamMemberInput, { userId: optional(request.userId) }).userId),
    RemoveTeamMember: (request, caller) =>
      teams.removeMember(caller, parseInput(identifier, request.teamId, 'teamId'), parseInput(addTeamMemberInput, { userId: optional(request.userId) }).userId),
    ListTeamMembers: (request, caller) => teams.listMembers(caller, parseInput(identifier, request.teamId, 'teamId')),
  };
}
