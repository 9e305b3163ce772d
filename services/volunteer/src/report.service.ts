import { createEvent, reportAccepted, reportEscalated } from '@lovepoints/events';
import { DomainError, notFound } from '@lovepoints/errors';
import type { Caller } from '@lovepoints/grpc';
import { outboxEntry } from '@lovepoints/outbox';
import { randomUUID } from 'node:crypto';
import { authorize, canSeeCommunity, conflict, ensureVisible, hasRole, refused, requireCaller } from './domain/access';
import { findCommunity } from './store/lookups';
import type { ReportDocument, ReportLevel, VolunteerModels } from './store/models';

function reportView(report: ReportDocument) {
  return {
    id: report._id,
    communityId: report.communityId,
    reporterUserId: report.reporterUserId,
    category: report.category,
    text: report.text,
    address: report.address,
    photoUrl: report.photoUrl,
    status: report.status,
    level: report.level,
    deadlineAt: report.deadlineAt.toISOString(),
    createdAt: report.createdAt.toISOString(),
    decisionNote: report.decisionNote,
    gridId: report.gridId ?? '',
  };
}

const nextLevel: Record<ReportLevel, ReportLevel | undefined> = { grid: 'community', community: 'street', street: undefined };

/**
 * Problem reports (我有事要说). Small matters stay in the grid, middle ones go to the community,
 * big ones to the street: a report nobody answers by its deadline moves up a level, with an event,
 * so nothing is dropped. Each decision and escalation is one conditional single-document update
 * that also stores its event (the outbox), so a report is decided once and never loses its event.
 */
export class ReportService {
  constructor(
    private readonly models: VolunteerModels,
    private readonly responseWindowMs: number,
    private readonly afterEventsWritten: () => void,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Files a report about the given grid of the caller's community, or the reporter's own grid.
   * It starts with that grid's worker (grid level); without a grid there is nobody at grid
   * level to answer, so it starts at the community.
   */
  async fileReport(caller: Caller | undefined, input: { category: string; text: string; address: string; photoUrl: string; gridId?: string | undefined }) {
    const known = requireCaller(caller);
    if (known.communityId === '') throw refused('no_community', 'Reports are filed by members of a community.');
    const { gridId: namedGridId, ...fields } = input;
    let gridId = '';
    if (namedGridId === undefined) {
      gridId = (await this.models.users.findById(known.userId, { gridId: 1 }).lean())?.gridId ?? '';
    } else {
      const grid = await this.models.grids.findById(namedGridId, { communityId: 1 }).lean();
      if (grid?.communityId !== known.communityId)
        throw new DomainError('invalid_argument', 'unknown_gridId', 'No grid of your community has that id.', [{ path: 'gridId', message: 'unknown grid' }]);
      gridId = grid._id;
    }
    const now = this.now();
    const report = await this.models.reports.create({
      _id: randomUUID(),
      communityId: known.communityId,
      street: known.street,
      gridId,
      reporterUserId: known.userId,
      ...fields,
      status: 'open',
      level: gridId === '' ? 'community' : 'grid',
      deadlineAt: new Date(now.getTime() + this.responseWindowMs),
      createdAt: now,
    });
    return reportView(report.toObject());
  }

  /** Who may see a report: its reporter, staff of its community, and its street's admins. */
  private canSee(caller: Caller, report: ReportDocument): boolean {
    return (
      report.reporterUserId === caller.userId ||
      ((hasRole(caller, 'organizer') || hasRole(caller, 'street_admin')) && canSeeCommunity(caller, { id: report.communityId, street: report.street }))
    );
  }

  /**
   * Reports in the caller's scope (their own; an organizer's community; a street admin's street),
   * narrowed by the filters. A community outside the scope is not found, as everywhere.
   */
  async listReports(
    caller: Caller | undefined,
    input: { status?: string | undefined; communityId?: string | undefined; gridId?: string | undefined; level?: string | undefined },
  ) {
    const known = requireCaller(caller);
    const scope = hasRole(known, 'street_admin')
      ? { street: known.street }
      : hasRole(known, 'organizer')
        ? { communityId: known.communityId }
        : { reporterUserId: known.userId };
    if (input.communityId !== undefined) {
      const community = await findCommunity(this.models, input.communityId);
      ensureVisible(known, { id: community._id, street: community.street }, 'The community');
    }
    const filters = Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined));
    const reports = await this.models.reports
      .find({ ...filters, ...scope }, { outbox: 0 })
      .sort({ createdAt: -1 })
      .limit(100)
      .lean();
    return { reports: reports.map(reportView) };
  }

  private async decidable(caller: Caller | undefined, reportId: string) {
    const known = authorize(caller, 'report.decide');
    const report = await this.models.reports.findById(reportId, { outbox: 0 }).lean();
    if (report === null || !this.canSee(known, report)) throw notFound('The report');
    if (report.status !== 'open') throw conflict('report_decided', `The report was already ${report.status}.`);
    return { known, report };
  }

  async acceptReport(caller: Caller | undefined, reportId: string, input: { points: number; note: string }) {
    const { known, report } = await this.decidable(caller, reportId);
    const now = this.now();
    const event = createEvent(reportAccepted, {
      id: `report-accepted:${report._id}`,
      source: 'volunteer',
      subject: report._id,
      data: {
        reportId: report._id,
        communityId: report.communityId,
        reporterUserId: report.reporterUserId,
        category: report.category,
        points: input.points,
        acceptedByUserId: known.userId,
        acceptedAt: now.toISOString(),
      },
    });
    const accepted = await this.models.reports
      .findOneAndUpdate(
        { _id: reportId, status: 'open' },
        {
          $set: { status: 'accepted', decidedByUserId: known.userId, decisionNote: input.note, awardPoints: input.points },
          $push: { outbox: outboxEntry(reportAccepted.topic, event) },
        },
        { new: true, projection: { outbox: 0 } },
      )
      .lean();
    if (accepted === null) throw conflict('report_decided', 'The report was decided a moment ago.');
    this.afterEventsWritten();
    return reportView(accepted);
  }

  async rejectReport(caller: Caller | undefined, reportId: string, reason: string) {
    const { known } = await this.decidable(caller, reportId);
    const rejected = await this.models.reports
      .findOneAndUpdate(
        { _id: reportId, status: 'open' },
        { $set: { status: 'rejected', decidedByUserId: known.userId, decisionNote: reason } },
        { new: true, projection: { outbox: 0 } },
      )
      .lean();
    if (rejected === null) throw conflict('report_decided', 'The report was decided a moment ago.');
    return reportView(rejected);
  }

  /**
   * Moves every open report whose deadline has passed up one level and gives the new level a
   * fresh deadline. A report already at the street stays there (there is no level above) and
   * keeps showing in the street's list until someone decides it.
   */
  async escalateOverdue(asOf: Date): Promise<{ escalated: number }> {
    let escalated = 0;
    const overdue = await this.models.reports
      .find({ status: 'open', level: { $ne: 'street' }, deadlineAt: { $lte: asOf } }, { outbox: 0 })
      .limit(1000)
      .lean();
    for (const report of overdue) {
      const toLevel = nextLevel[report.level];
      if (toLevel === undefined) continue;
      const event = createEvent(reportEscalated, {
        id: `report-escalated:${report._id}:${toLevel}`,
        source: 'volunteer',
        subject: report._id,
        data: {
          reportId: report._id,
          communityId: report.communityId,
          reporterUserId: report.reporterUserId,
          category: report.category,
          fromLevel: report.level as 'grid' | 'community',
          toLevel: toLevel as 'community' | 'street',
          escalatedAt: asOf.toISOString(),
        },
      });
      const moved = await this.models.reports.updateOne(
        { _id: report._id, status: 'open', level: report.level },
        {
          $set: { level: toLevel, deadlineAt: new Date(asOf.getTime() + this.responseWindowMs) },
          $push: { escalations: { fromLevel: report.level, toLevel, at: asOf }, outbox: outboxEntry(reportEscalated.topic, event) },
        },
      );
      escalated += moved.modifiedCount;
    }
    if (escalated > 0) this.afterEventsWritten();
    return { escalated };
  }
}
