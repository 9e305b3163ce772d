import { notFound } from '@lovepoints/errors';
import type { CommunityDocument, GridDocument, VolunteerModels } from './models';

/** A community by id, or NOT_FOUND. */
export async function findCommunity(models: VolunteerModels, communityId: string): Promise<CommunityDocument> {
  const community = communityId === '' ? null : await models.communities.findById(communityId).lean();
  if (community === null) throw notFound('The community');
  return community;
}

/** A grid by id, or NOT_FOUND. */
export async function findGrid(models: VolunteerModels, gridId: string): Promise<GridDocument> {
  const grid = gridId === '' ? null : await models.grids.findById(gridId).lean();
  if (grid === null) throw notFound('The grid');
  return grid;
}
