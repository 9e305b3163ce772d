import { DomainError, notFound } from '@lovepoints/errors';
import type { Caller } from '@lovepoints/grpc';
import { insertUnique } from '@lovepoints/mongo';
import { randomUUID } from 'node:crypto';
import { authorize, ensureCanManage, ensureVisible, hasRole, refused, requireCaller } from './domain/access';
import { findCommunity, findGrid } from './store/lookups';
import type { BuildingDocument, GridDocument, VolunteerModels } from './store/models';
import { userView } from './volunteer.service';

function gridView(grid: GridDocument) {
  return { id: grid._id, communityId: grid.communityId, name: grid.name, leaderUserId: grid.leaderUserId ?? '', createdAt: grid.createdAt.toISOString() };
}

function buildingView(building: BuildingDocument) {
  return { id: building._id, gridId: building.gridId, communityId: building.communityId, name: building.name, createdAt: building.createdAt.toISOString() };
}

/** A reference in a request body that names nothing the caller may use: 400 with the field. */
function unknownReference(path: string, what: string): DomainError {
  return new DomainError('invalid_argument', `unknown_${path}`, `No ${what} of your community has that id.`, [{ path, message: `unknown ${what}` }]);
}

const placesMax = 1000;

const gridNameTaken = () =>
  new DomainError('already_exists', 'grid_exists', 'The community already has a grid of that name.', [{ path: 'name', message: 'already exists' }]);

/**
 * The hierarchy below the community: grids (网格), each with an optional grid worker (网格员)
 * answering for it, and the buildings or courtyards (楼栋/院落) in a grid; and where each member
 * lives in it. Grids and buildings carry their community and street, so tenancy is checked on
 * the record itself, as for every other record.
 */
export class PlaceService {
  constructor(private readonly models: VolunteerModels) {}

  /** A grid leader answers for the grid's reports, so it is one of the community's organizers. */
  private async ensureLeader(communityId: string, leaderUserId: string): Promise<void> {
    const leader = await this.models.users.findById(leaderUserId, { communityId: 1, roles: 1 }).lean();
    if (leader?.communityId !== communityId) throw unknownReference('leaderUserId', 'user');
    if (!leader.roles.includes('organizer')) throw refused('leader_not_organizer', 'A grid leader must be an organizer of the community.');
  }

  private async managedGrid(caller: Caller | undefined, gridId: string) {
    const known = authorize(caller, 'place.manage');
    const grid = await findGrid(this.models, gridId);
    ensureCanManage(known, 'place.manage', { id: grid.communityId, street: grid.street }, 'The grid');
    return { known, grid };
  }

  async createGrid(caller: Caller | undefined, input: { communityId: string; name: string; leaderUserId?: string | undefined }) {
    const known = authorize(caller, 'place.manage');
    const community = await findCommunity(this.models, input.communityId);
    ensureCanManage(known, 'place.manage', { id: community._id, street: community.street }, 'The community');
    if (input.leaderUserId !== undefined) await this.ensureLeader(community._id, input.leaderUserId);
    const grid = await insertUnique(
      () =>
        this.models.grids.create({
          _id: randomUUID(),
          communityId: community._id,
          street: community.street,
          name: input.name,
          leaderUserId: input.leaderUserId ?? null,
        }),
      gridNameTaken,
    );
    return gridView(grid.toObject());
  }

  async listGrids(caller: Caller | undefined, communityId: string) {
    const known = requireCaller(caller);
    const community = await findCommunity(this.models, communityId);
    ensureVisible(known, { id: community._id, street: community.street }, 'The community');
    const grids = await this.models.grids.find({ communityId }).sort({ name: 1 }).limit(placesMax).lean();
    return { grids: grids.map(gridView) };
  }

  async updateGrid(caller: Caller | undefined, gridId: string, patch: { name?: string | undefined; leaderUserId?: string | null | undefined }) {
    const { grid } = await this.managedGrid(caller, gridId);
    if (typeof patch.leaderUserId === 'string') await this.ensureLeader(grid.communityId, patch.leaderUserId);
    const changes = {
      ...(patch.name === undefined ? {} : { name: patch.name }),
      ...(patch.leaderUserId === undefined ? {} : { leaderUserId: patch.leaderUserId }),
    };
    const updated = await insertUnique(() => this.models.grids.findByIdAndUpdate(grid._id, { $set: changes }, { new: true }).lean(), gridNameTaken);
    if (updated === null) throw notFound('The grid');
    return gridView(updated);
  }

  async createBuilding(caller: Caller | undefined, gridId: string, input: { name: string }) {
    const { grid } = await this.managedGrid(caller, gridId);
    const building = await insertUnique(
      () => this.models.buildings.create({ _id: randomUUID(), gridId: grid._id, communityId: grid.communityId, street: grid.street, name: input.name }),
      () =>
        new DomainError('already_exists', 'building_exists', 'The grid already has a building of that name.', [{ path: 'name', message: 'already exists' }]),
    );
    return buildingView(building.toObject());
  }

  async listBuildings(caller: Caller | undefined, gridId: string) {
    const known = requireCaller(caller);
    const grid = await findGrid(this.models, gridId);
    ensureVisible(known, { id: grid.communityId, street: grid.street }, 'The grid');
    const buildings = await this.models.buildings.find({ gridId }).sort({ name: 1 }).limit(placesMax).lean();
    return { buildings: buildings.map(buildingView) };
  }

  /**
   * Sets where the caller lives. Both must belong to the caller's community and the building to
   * the grid; a building alone implies its grid, and a new grid drops a building of the old one.
   */
  async updateMyPlace(caller: Caller | undefined, input: { gridId?: string | null | undefined; buildingId?: string | null | undefined }) {
    const known = requireCaller(caller);
    if (known.communityId === '' || hasRole(known, 'street_admin')) throw refused('no_community', 'Only members of a community live in one of its grids.');
    const user = await this.models.users.findById(known.userId).lean();
    if (user === null) throw notFound('The user');
    const gridChanged = input.gridId !== undefined && (input.gridId ?? '') !== user.gridId;
    let buildingId = input.buildingId !== undefined ? input.buildingId : gridChanged ? null : user.buildingId || null;
    let gridId = input.gridId !== undefined ? input.gridId : user.gridId || null;
    if (input.buildingId) {
      const building = await this.models.buildings.findById(input.buildingId).lean();
      if (building?.communityId !== known.communityId) throw unknownReference('buildingId', 'building');
      if (input.gridId === undefined) gridId = building.gridId;
      else if (building.gridId !== input.gridId)
        throw new DomainError('invalid_argument', 'building_not_in_grid', 'That building is in another grid.', [
          { path: 'buildingId', message: 'not in that grid' },
        ]);
    }
    if (gridId === null) buildingId = null;
    else if (input.gridId) {
      const grid = await this.models.grids.findById(input.gridId, { communityId: 1 }).lean();
      if (grid?.communityId !== known.communityId) throw unknownReference('gridId', 'grid');
    }
    const updated = await this.models.users.findByIdAndUpdate(user._id, { $set: { gridId: gridId ?? '', buildingId: buildingId ?? '' } }, { new: true }).lean();
    if (updated === null) throw notFound('The user');
    return userView(updated);
  }
}
