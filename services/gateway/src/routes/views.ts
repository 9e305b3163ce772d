import { z } from 'zod';

/** Response shapes, shared by the handlers (to build answers) and the OpenAPI document. */
export const userView = z.object({
  id: z.string(),
  name: z.string(),
  phone: z.string(),
  roles: z.array(z.string()),
  communityId: z.string().nullable(),
  street: z.string(),
  gridId: z.string().nullable().describe('the grid of the community the user lives in'),
  buildingId: z.string().nullable().describe('the building, in that grid, the user lives in'),
});
export type UserView = z.output<typeof userView>;

/** The volunteer service's user, where an absent community, grid or building is ''. */
type UserReply = Omit<UserView, 'communityId' | 'gridId' | 'buildingId'> & Record<'communityId' | 'gridId' | 'buildingId', string>;

export function toUserView(user: UserReply): UserView {
  return {
    id: user.id,
    name: user.name,
    phone: user.phone,
    roles: user.roles,
    communityId: emptyToNull(user.communityId),
    street: user.street,
    gridId: emptyToNull(user.gridId),
    buildingId: emptyToNull(user.buildingId),
  };
}

export const tokensView = z.object({ accessToken: z.string(), refreshToken: z.string() });
export const sessionView = z.object({ user: userView, accessToken: z.string(), refreshToken: z.string() });

/** A page of a list: `nextCursor` is null on the last page. */
export function pageOf<Item extends z.ZodType>(item: Item) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

export function emptyToNull(value: string): string | null {
  return value === '' ? null : value;
}

export const idParams = z.object({ id: z.string().trim().min(1).max(100) });
