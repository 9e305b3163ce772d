import { DomainError } from '@lovepoints/errors';
import jwt from 'jsonwebtoken';
import { issueTokens, type TokenSettings, verifyAccessToken, verifyRefreshToken } from './tokens';

const settings: TokenSettings = {
  secret: 'a-test-secret-that-is-long-enough-0123456789',
  issuer: 'lovepoints',
  audience: 'lovepoints-portal',
  accessTtlSeconds: 900,
  refreshTtlSeconds: 3600,
};
const user = { id: 'user-1', roles: ['resident', 'organizer'], communityId: 'community-1', street: '示范街道' };
const claims = { typ: 'access', roles: ['street_admin'], cid: 'community-1', street: '示范街道' };
const signOptions = { issuer: settings.issuer, audience: settings.audience, subject: 'user-1', expiresIn: 900 } as const;

function refusal(action: () => unknown): string | undefined {
  try {
    action();
    return undefined;
  } catch (error) {
    return error instanceof DomainError ? error.code : String(error);
  }
}

describe('access and refresh tokens', () => {
  it('verifies what it issued, and tells access and refresh tokens apart', () => {
    const { accessToken, refreshToken } = issueTokens(settings, user, 'session-1');
    expect(verifyAccessToken(settings, accessToken)).toEqual({
      userId: 'user-1',
      roles: ['resident', 'organizer'],
      communityId: 'community-1',
      street: '示范街道',
    });
    expect(verifyRefreshToken(settings, refreshToken)).toEqual({ userId: 'user-1', sessionId: 'session-1' });
    expect(refusal(() => verifyAccessToken(settings, refreshToken))).toBe('unauthenticated');
    expect(refusal(() => verifyRefreshToken(settings, accessToken))).toBe('unauthenticated');
  });

  it('refuses another secret, another algorithm, alg none, another audience and an expired token', () => {
    const otherSecret = jwt.sign(claims, `${settings.secret}-other`, { ...signOptions, algorithm: 'HS256' });
    const otherAlgorithm = jwt.sign(claims, settings.secret, { ...signOptions, algorithm: 'HS512' });
    const unsigned = jwt.sign(claims, '', { ...signOptions, algorithm: 'none' });
    const otherAudience = jwt.sign(claims, settings.secret, { ...signOptions, audience: 'someone-else', algorithm: 'HS256' });
    const expired = jwt.sign({ ...claims, exp: Math.floor(Date.now() / 1000) - 10 }, settings.secret, {
      issuer: settings.issuer,
      audience: settings.audience,
      subject: 'user-1',
      algorithm: 'HS256',
    });
    for (const token of [otherSecret, otherAlgorithm, unsigned, otherAudience, expired]) {
      expect(refusal(() => verifyAccessToken(settings, token))).toBe('unauthenticated');
    }
  });

  it('remembers a verified access token only until it expires, only under its exact text and secret', () => {
    const issuedAt = Date.now();
    const { accessToken } = issueTokens({ ...settings, accessTtlSeconds: 60 }, user, 'session-2');
    const { exp } = jwt.decode(accessToken) as { exp: number };
    expect(verifyAccessToken(settings, accessToken, issuedAt).userId).toBe('user-1');
    // Verified again from memory a second before expiry; refused (as expired) once the clock reaches exp.
    expect(verifyAccessToken(settings, accessToken, (exp - 1) * 1000).userId).toBe('user-1');
    expect(refusal(() => verifyAccessToken(settings, accessToken, exp * 1000))).toBe('unauthenticated');
    // A remembered token with one byte of its signature changed, or checked under another secret, is refused.
    expect(verifyAccessToken(settings, accessToken, issuedAt).userId).toBe('user-1');
    const at = accessToken.length - 10;
    const changed = `${accessToken.slice(0, at)}${accessToken[at] === 'A' ? 'B' : 'A'}${accessToken.slice(at + 1)}`;
    expect(refusal(() => verifyAccessToken(settings, changed, issuedAt))).toBe('unauthenticated');
    expect(refusal(() => verifyAccessToken({ ...settings, secret: `${settings.secret}-rotated` }, accessToken, issuedAt))).toBe('unauthenticated');
    // What a caller does with the answer does not change the next one.
    verifyAccessToken(settings, accessToken, issuedAt).roles.push('street_admin');
    expect(verifyAccessToken(settings, accessToken, issuedAt).roles).toEqual(['resident', 'organizer']);
  });
});
