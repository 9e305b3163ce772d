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
  exp: z.number().int(),
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

function verify(settings: TokenSettings, token: string, nowSeconds?: number): unknown {
  try {
    return jwt.verify(token, secretKey(settings.secret), {
      algorithms: [algorithm],
      issuer: settings.issuer,
      audience: settings.audience,
      ...(nowSeconds === undefined ? {} : { clockTimestamp: nowSeconds }),
    });
  } catch (error) {
    throw unauthenticated(error instanceof jwt.TokenExpiredError ? 'The token has expired; refresh it.' : 'The token is not valid.');
  }
}

/**
 * Access tokens verified before, by their exact text, until they expire. A client sends the same
 * token with every request for up to its lifetime, and checking the signature and claims again
 * each time was the gateway's largest share of work per read after HTTP and gRPC (bench:gateway).
 * Only a token that passed every check is remembered, and only under its full text (signature
 * included), so a changed byte misses the cache and is verified, and refused, as before.
 */
const verifiedAccessTokens = new Map<string, { secret: string; caller: Caller; expiresAtSeconds: number }>();
const verifiedAccessTokensMax = 10_000;

export function verifyAccessToken(settings: TokenSettings, token: string, nowMs: number = Date.now()): Caller {
  const nowSeconds = Math.floor(nowMs / 1000);
  const known = verifiedAccessTokens.get(token);
  // jsonwebtoken's rule: a token is expired once the clock reaches `exp`.
  if (known !== undefined && known.secret === settings.secret && nowSeconds < known.expiresAtSeconds) return callerCopy(known.caller);
  if (known !== undefined) verifiedAccessTokens.delete(token);
  const verified = verify(settings, token, nowSeconds);
  const claims = accessClaims.safeParse(verified);
  if (!claims.success) throw unauthenticated('The token is not an access token.');
  const caller: Caller = { userId: claims.data.sub, roles: claims.data.roles, communityId: claims.data.cid, street: claims.data.street };
  if (verifiedAccessTokens.size >= verifiedAccessTokensMax) verifiedAccessTokens.delete(verifiedAccessTokens.keys().next().value!);
  verifiedAccessTokens.set(token, { secret: settings.secret, caller, expiresAtSeconds: claims.data.exp });
  return callerCopy(caller);
}

/** Callers handed out are copies, so no handler can change what the cache gives the next request. */
function callerCopy(caller: Caller): Caller {
  return { ...caller, roles: [...caller.roles] };
}

export function verifyRefreshToken(settings: TokenSettings, token: string): { userId: string; sessionId: string } {
  const claims = refreshClaims.safeParse(verify(settings, token));
  if (!claims.success) throw unauthenticated('The token is not a refresh token.');
  return { userId: claims.data.sub, sessionId: claims.data.jti };
}
