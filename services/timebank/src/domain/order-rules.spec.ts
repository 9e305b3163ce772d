import { ageInYears, completionBoundMinutes, familyLinkId, nextLevel, payerChain, poolEligible, postingPlan } from './order-rules';

describe('time bank rules', () => {
  it('asks the beneficiary, then paying relatives, then the pool when eligible', () => {
    const chain = payerChain({ userId: 'grandma', communityId: 'c1' }, [{ userId: 'son', communityId: 'c2' }], true);
    expect(chain).toEqual([
      { kind: 'own', userId: 'grandma', communityId: 'c1' },
      { kind: 'relative', userId: 'son', communityId: 'c2' },
      { kind: 'pool', userId: '', communityId: 'c1' },
    ]);
    expect(payerChain({ userId: 'grandma', communityId: 'c1' }, [], false).map((payer) => payer.kind)).toEqual(['own']);
  });

  it('counts age in whole years, birthday included', () => {
    expect(ageInYears('1956-03-01', new Date('2026-02-28T23:00:00Z'))).toBe(69);
    expect(ageInYears('1956-03-01', new Date('2026-03-01T00:00:00Z'))).toBe(70);
  });

  it('makes the pool pay for flagged or old enough residents only', () => {
    const on = new Date('2026-06-01T00:00:00Z');
    expect(poolEligible(null, on, 70)).toBe(false);
    expect(poolEligible({ poolEligible: true, birthDate: '' }, on, 70)).toBe(true);
    expect(poolEligible({ poolEligible: false, birthDate: '1950-01-01' }, on, 70)).toBe(true);
    expect(poolEligible({ poolEligible: false, birthDate: '1980-01-01' }, on, 70)).toBe(false);
  });

  it('pays from holds in order and voids what is left', () => {
    expect(postingPlan([60, 30], 75)).toEqual([60, 15]);
    expect(postingPlan([60, 30], 40)).toEqual([40, 0]);
    expect(postingPlan([60], 60)).toEqual([60]);
  });

  it('bounds recorded minutes, escalates up to the street, and names links by the pair', () => {
    expect(completionBoundMinutes(60, 2, false)).toBe(120);
    expect(completionBoundMinutes(60, 2, true)).toBe(1440);
    expect([nextLevel('grid'), nextLevel('community'), nextLevel('street')]).toEqual(['community', 'street', undefined]);
    expect(familyLinkId('b', 'a')).toBe(familyLinkId('a', 'b'));
  });
});
