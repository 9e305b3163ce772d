import { createShopInput } from '@lovepoints/contracts';
import { parseInput } from '@lovepoints/errors';
import type { AsyncHandlers, redeemV1 } from '@lovepoints/grpc';
import type { RedeemService } from '../redeem.service';

export function redeemHandlers(service: RedeemService): AsyncHandlers<redeemV1.RedeemServiceHandlers> {
  return {
    CreateShop: (request, caller) => service.createShop(caller, parseInput(createShopInput, request)),
    ListShops: (_request, caller) => service.listShops(caller),
  };
}
