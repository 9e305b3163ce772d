import { accountId, addChanges, checkTransfer, groupAccountWrites, phaseEffects, transferFingerprint, type TransferCommand } from './ledger-rules';

const command: TransferCommand = {
  transferId: 't-1',
  debit: { kind: 'community_issuance', id: 'c-1', communityId: 'c-1' },
  credit: { kind: 'member', id: 'u-1', communityId: 'c-1' },
  asset: 'POINTS',
  amount: 10,
  reason: 'activity_reward',
  reference: 'attendance-1',
};

describe('ledger rules', () => {
  it('accepts a well-formed transfer', () => {
    expect(checkTransfer(command)).toBe('ok');
  });

  it.each([
    [0, 'amount_must_be_positive'],
    [-5, 'amount_must_be_positive'],
    [1.5, 'amount_must_be_integer'],
    [Number.NaN, 'amount_must_be_integer'],
    [2 ** 53, 'amount_too_large'],
  ])('refuses amount %p with %s', (amount, refusal) => {
    expect(checkTransfer({ ...command, amount })).toBe(refusal);
  });

  it('refuses the same account on both sides', () => {
    expect(checkTransfer({ ...command, credit: { ...command.debit } })).toBe('accounts_must_be_different');
  });

  it('fingerprints content, not the id', () => {
    expect(transferFingerprint({ ...command, transferId: 'other' })).toBe(transferFingerprint(command));
    expect(transferFingerprint({ ...command, amount: 11 })).not.toBe(transferFingerprint(command));
  });

  it('names accounts by owner and asset', () => {
    expect(accountId(command.credit, 'TIME')).toBe('member:u-1:TIME');
  });

  describe('phase effects', () => {
    const base = {
      debitAccountId: 'community_issuance:c-1:POINTS',
      creditAccountId: 'member:u-1:POINTS',
      pending: false,
      heldAmount: 0,
      amount: 10,
      earnerUserId: '',
      earnedPoints: 0,
    };

    it('moves posted amounts and keeps available in step', () => {
      expect(phaseEffects('apply', base, true)).toEqual([
        { accountId: base.debitAccountId, change: { debitsPosted: 10, available: -10 } },
        { accountId: base.creditAccountId, change: { creditsPosted: 10, available: 10 } },
      ]);
    });

    it('checks the spendable amount only on a debit that may not go negative', () => {
      expect(phaseEffects('apply', base, false)[0]?.requiresAvailable).toBe(10);
      expect(phaseEffects('apply', base, true)[0]?.requiresAvailable).toBeUndefined();
    });

    it('holds, then posts less and gives the rest back', () => {
      const hold = { ...base, pending: true, heldAmount: 10, amount: 6 };
      expect(phaseEffects('apply', hold, false)[0]?.change).toEqual({ debitsPending: 10, available: -10 });
      expect(phaseEffects('post', hold, false)).toEqual([
        { accountId: base.debitAccountId, change: { debitsPending: -10, debitsPosted: 6, available: 4 } },
        { accountId: base.creditAccountId, change: { creditsPending: -10, creditsPosted: 6, available: 6 } },
      ]);
      expect(phaseEffects('void', hold, false)[0]?.change).toEqual({ debitsPending: -10, available: 10 });
    });

    it('adds earned points to the earner only when the transfer posts', () => {
      const earning = { ...base, earnerUserId: 'u-1', earnedPoints: 10 };
      expect(phaseEffects('apply', earning, true)[1]?.change.earnedPosted).toBe(10);
      expect(phaseEffects('apply', earning, true)[0]?.change.earnedPosted).toBeUndefined();
      const reversal = {
        ...base,
        debitAccountId: 'member:u-1:POINTS',
        creditAccountId: 'community_issuance:c-1:POINTS',
        earnerUserId: 'u-1',
        earnedPoints: -10,
      };
      expect(phaseEffects('apply', reversal, false)[0]?.change.earnedPosted).toBe(-10);
    });
  });

  describe('sharing account updates within a batch', () => {
    it('puts unchecked changes to one account together, in the order of their first write', () => {
      const writes = [
        { accountId: 'shop-1', markerKey: 'a#apply' },
        { accountId: 'shop-2', markerKey: 'b#apply' },
        { accountId: 'shop-1', markerKey: 'c#apply' },
        { accountId: 'issuance', markerKey: 'c#apply' },
        { accountId: 'shop-1', markerKey: 'd#post' },
      ];
      expect(groupAccountWrites(writes)).toEqual([[0, 2, 4], [1], [3]]);
    });

    it('keeps a checked change alone, even beside unchecked ones to the same account', () => {
      const writes = [
        { accountId: 'member-1', markerKey: 'a#apply', requiresAvailable: 5 },
        { accountId: 'member-1', markerKey: 'b#apply' },
        { accountId: 'member-1', markerKey: 'c#apply', requiresAvailable: 3 },
        { accountId: 'member-1', markerKey: 'd#post' },
      ];
      expect(groupAccountWrites(writes)).toEqual([[0], [1, 3], [2]]);
    });

    it('never puts the same marker twice into one update', () => {
      const writes = [
        { accountId: 'shop-1', markerKey: 'a#apply' },
        { accountId: 'shop-1', markerKey: 'a#apply' },
        { accountId: 'shop-1', markerKey: 'b#apply' },
      ];
      expect(groupAccountWrites(writes)).toEqual([[0, 2], [1]]);
    });

    it('adds changes field by field', () => {
      expect(addChanges([{ creditsPosted: 3, available: 3 }, { creditsPending: -4 }, { creditsPosted: 2, available: 2, earnedPosted: 2 }])).toEqual({
        creditsPosted: 5,
        available: 5,
        creditsPending: -4,
        earnedPosted: 2,
      });
    });
  });
});
