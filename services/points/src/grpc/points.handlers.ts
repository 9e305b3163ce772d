import { identifier } from '@lovepoints/contracts';
import { parseInput, permissionDenied } from '@lovepoints/errors';
import type { AsyncHandlers, pointsV1 } from '@lovepoints/grpc';
import { z } from 'zod';
import { assets, ownerKinds, reasonCodes } from '../domain/ledger-rules';
import type { PointsService } from '../points.service';

const owner = z.object({ kind: z.enum(ownerKinds), id: identifier, communityId: identifier });
const createTransferInput = z.object({
  transferId: z.string().max(200),
  debit: owner,
  credit: owner,
  asset: z.enum(assets),
  amount: z.number(),
  reason: z.enum(reasonCodes),
  reference: z.string().max(200).default(''),
});

export function pointsHandlers(service: PointsService): AsyncHandlers<pointsV1.PointsServiceHandlers> {
  return {
    GetBalance: (request, caller) => service.getBalance(caller, request.userId),
    CreateTransfer: (request, caller) => {
      // Transfers are commands of other services (redeem, timebank), never of an end user:
      // a call carrying a user's identity came through the wrong door.
      if (caller !== undefined) throw permissionDenied('Transfers are created by platform services only.');
      return service.createTransfer(parseInput(createTransferInput, request));
    },
  };
}
