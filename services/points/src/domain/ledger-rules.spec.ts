import { accountId, checkTransfer, transferFingerprint, type TransferCommand } from './ledger-rules';

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
});
