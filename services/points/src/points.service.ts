import { attendanceRewardPoints, type AttendanceVerifiedData, type Envelope } from '@lovepoints/events';
import { DomainError, permissionDenied, unauthenticated } from '@lovepoints/errors';
import type { Caller } from '@lovepoints/grpc';
import { accountId, checkTransfer, type TransferCommand } from './domain/ledger-rules';
import type { LedgerRepository, TransferDocument } from './store/ledger.repository';

function transferView(transfer: TransferDocument) {
  return {
    id: transfer._id,
    debitAccountId: transfer.debitAccountId,
    creditAccountId: transfer.creditAccountId,
    asset: transfer.asset,
    amount: transfer.amount,
    reason: transfer.reason,
    reference: transfer.reference,
    state: transfer.state,
    createdAt: transfer.createdAt.toISOString(),
  };
}

export class PointsService {
  constructor(private readonly ledger: LedgerRepository) {}

  async createTransfer(command: TransferCommand) {
    const verdict = checkTransfer(command);
    if (verdict !== 'ok') {
      const path = verdict.startsWith('amount') ? 'amount' : verdict === 'transfer_id_required' ? 'transferId' : 'credit';
      throw new DomainError('invalid_argument', verdict, `The transfer was refused: ${verdict.replaceAll('_', ' ')}.`, [{ path, message: verdict }]);
    }
    return transferView(await this.ledger.transfer(command));
  }

  /**
   * A member's balances. Members read their own; organizers and street admins may read a member
   * of their community (the gateway has already checked that the member is visible to them).
   */
  async getBalance(caller: Caller | undefined, requestedUserId: string) {
    if (caller === undefined) throw unauthenticated();
    const userId = requestedUserId === '' ? caller.userId : requestedUserId;
    if (userId !== caller.userId && !caller.roles.includes('organizer') && !caller.roles.includes('street_admin')) {
      throw permissionDenied('Only organizers can read another member’s balance.');
    }
    const owner = { kind: 'member' as const, id: userId };
    const [points, time] = await Promise.all([this.ledger.findAccount(accountId(owner, 'POINTS')), this.ledger.findAccount(accountId(owner, 'TIME'))]);
    for (const account of [points, time]) {
      if (account !== null && userId !== caller.userId && !caller.roles.includes('street_admin') && account.communityId !== caller.communityId) {
        throw new DomainError('not_found', 'not_found', 'The member was not found.');
      }
    }
    return {
      userId,
      points: points?.available ?? 0,
      timeMinutes: time?.available ?? 0,
      heldPoints: points?.debitsPending ?? 0,
      heldMinutes: time?.debitsPending ?? 0,
    };
  }

  /**
   * Credits a verified attendance: love points by the activity's rule and the verified minutes as
   * TIME, both issued by the community. Transfer ids derive from the event id, so however often
   * the event is delivered, each credit happens once.
   */
  async creditAttendance(event: Envelope<AttendanceVerifiedData>): Promise<void> {
    const { data } = event;
    const issuance = { kind: 'community_issuance' as const, id: data.communityId, communityId: data.communityId };
    const member = { kind: 'member' as const, id: data.userId, communityId: data.communityId };
    const points = attendanceRewardPoints(data);
    if (points > 0) {
      await this.createTransfer({
        transferId: `${event.id}/points`,
        debit: issuance,
        credit: member,
        asset: 'POINTS',
        amount: points,
        reason: 'activity_reward',
        reference: data.attendanceId,
      });
    }
    if (data.minutes > 0) {
      await this.createTransfer({
        transferId: `${event.id}/time`,
        debit: issuance,
        credit: member,
        asset: 'TIME',
        amount: data.minutes,
        reason: 'activity_reward',
        reference: data.attendanceId,
      });
    }
  }
}
