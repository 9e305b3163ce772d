import { unauthenticated } from '@lovepoints/errors';
import { type Caller, roles as knownRoles } from '@lovepoints/grpc';
import jwt from 'jsonwebtoken';
import { createSecretKey, type KeyObject } from 'node:crypto';
import { z } from 'zod';

export interface TokenSettings {
  secret: string;
  issuer: string;
  audience: string;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
}

/** The algorithm is pinned: a token signed otherwise (or `alg: none`) is refused. */
const algorithm = 'HS256';

/**
 * The HMAC key as a KeyObject, made once per secret. Given a string, jsonwebtoken first tries to
 * read it as a PEM public key on every call, and the error it throws and catches cost about a
 * third of the gateway's CPU on authenticated reads (bench:gateway). The key and the pinned
 * algorithm are the same either way.
 */
const secretKeys = new Map<string, KeyObject>();
function secretKey(secret: string): KeyObject {
  let key = secretKeys.get(secret);
  if (key === undefined) {
    key = createSecretKey(Buffer.from(secret, 'utf8'));
    secretKeys.set(secret, key);
  }
  return key;
}

const accessClaims = z.object({
  sub: z.string().min(1),
  typ: z.literal('access'),
  roles: z.array(z.enum(knownRoles)),
  cid: z.string(),
  street: z.string(),
});
const refreshClaims = z.object({ sub: z.string().min(1), typ: z.literal('refresh'), jti: z.string().min(1) });

export interface TokenUser {
  id: string;
  roles: string[];
  communityId: string;
  street: string;
}

/** Signs an access token and a refresh token whose `jti` is the stored session's id. */
export function issueTokens(settings: TokenSettings, user: TokenUser, sessionId: string): { accessToken: string; refreshToken: string } {
  const signOptions = { algorithm, issuer: settings.issuer, audience: settings.audience, subject: user.id } as const;
  const accessToken = jwt.sign({ typ: 'access', roles: user.roles, cid: user.communityId, street: user.street }, secretKey(settings.secret), {
    ...signOptions,
    expiresIn: settings.accessTtlSeconds,
  });
  const refreshToken = jwt.sign({ typ: 'refresh', jti: sessionId }, secretKey(settings.secret), { ...signOptions, expiresIn: settings.refreshTtlSeconds });
  return { accessToken, refreshToken };
}

function verify(settings: TokenSettings, token: string): unknown {
  try {
    return jwt.verify(token, secretKey(settings.secret), { algorithms: [algorithm], issuer: settings.issuer, audience: settings.audience });
  } catch (error) {
    throw unauthenticated(error instanceof jwt.TokenExpiredError ? 'The token has expired; refresh it.' : 'The token is not valid.');
  }
}

export function verifyAccessToken(settings: TokenSettings, token: string): Caller {
  const claims = accessClaims.safeParse(verify(settings, token));
  if (!claims.success) throw unauthenticated('The token is not an access token.');
  return { userId: claims.data.sub, roles: claims.data.roles, communityId: claims.data.cid, street: claims.data.street };
}

export function verifyRefreshToken(settings: TokenSettings, token: string): { userId: string; sessionId: string } {
  const claims = refreshClaims.safeParse(verify(settings, token));
  if (!claims.success) throw unauthenticated('The token is not a refresh token.');
  return { userId: claims.data.sub, sessionId: claims.data.jti };
}
