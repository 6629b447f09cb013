/**
 * Enrollment tokens: `alk_<id>.<secret>`. The relay stores only the id and SHA-256 of the secret,
 * so a leaked database cannot enroll anything. Tokens are single use and expire (15 min default).
 */
import { createHash, randomBytes } from 'node:crypto';

/** Default lifetime of an enrollment token. */
export const DEFAULT_ENROLLMENT_TOKEN_TTL_MS = 15 * 60 * 1000;

const TOKEN_PATTERN = /^alk_([0-9a-f]{16})\.([A-Za-z0-9_-]{43})$/;

export interface NewEnrollmentToken {
  /** The full token to hand to the connector operator (shown once). */
  token: string;
  id: string;
  secretHash: string;
}

/** SHA-256 hex of a token secret. */
export function hashTokenSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Makes a new random token. */
export function newEnrollmentToken(): NewEnrollmentToken {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { token: `alk_${id}.${secret}`, id, secretHash: hashTokenSecret(secret) };
}

/** Splits a token into id and secret hash; undefined when it is not shaped like a token. */
export function parseEnrollmentToken(token: string): { id: string; secretHash: string } | undefined {
  const match = TOKEN_PATTERN.exec(token.trim());
  if (!match) return undefined;
  return { id: match[1]!, secretHash: hashTokenSecret(match[2]!) };
}
