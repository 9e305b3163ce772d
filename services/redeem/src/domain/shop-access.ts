import { DomainError, notFound } from '@lovepoints/errors';
import { type Caller, hasRole } from '@lovepoints/grpc';

/**
 * Who may do what with a shop. A shop of another community is "not found", so ids reveal
 * nothing; within the community, only the shop's owner keeps its shelves and takes its codes,
 * and organizers oversee every shop (the policy table's `owner` and `community` scopes).
 */
export function ensureShopVisible(caller: Caller, shop: { communityId: string } | null): asserts shop is { communityId: string } {
  if (shop === null || caller.communityId === '' || shop.communityId !== caller.communityId) throw notFound('The shop');
}

export function isShopOwner(caller: Caller, shop: { ownerUserId: string }): boolean {
  return hasRole(caller, 'shopkeeper') && shop.ownerUserId === caller.userId;
}

export function unknownItem(): DomainError {
  return new DomainError('not_found', 'item_not_found', 'The item was not found.', [{ path: 'itemId', message: 'unknown item' }]);
}
