import { password } from './common';
import { registerInput } from './volunteer';

describe('password rules', () => {
  it.each([
    ['short-1', 'at least 8 characters'],
    ['1234567890', 'not only digits'],
    ['aaaabbbb', 'at least 4 different characters'],
    ['Password123', 'too common; choose another'],
  ])('refuses %s (%s)', (candidate, reason) => {
    const result = password.safeParse(candidate);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.message)).toContain(reason);
  });

  it('accepts a reasonable password', () => {
    expect(password.safeParse('爱心积分-2026').success).toBe(true);
  });

  it('refuses a password containing the phone number, naming the field', () => {
    const result = registerInput.safeParse({ phone: '13912345678', password: 'x13912345678', name: '张三', communityId: 'c1' });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['password']);
  });
});
