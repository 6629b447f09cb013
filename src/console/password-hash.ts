/**
 * Password hashing for console accounts with scrypt (node:crypto), in a self-describing format:
 * `scrypt$<N>$<r>$<p>$<salt base64url>$<key base64url>`. Verification is constant time and accepts
 * hashes made with other parameters, so the defaults can be raised later without a migration.
 *
 * @example
 * const stored = await hashPassword('correct horse battery staple');
 * await verifyPassword('correct horse battery staple', stored); // true
 */
import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';

/** scrypt cost (N = 2^15, r = 8, p = 1: about 32 MiB and tens of milliseconds per hash). */
export const DEFAULT_SCRYPT_PARAMS = Object.freeze({ N: 2 ** 15, r: 8, p: 1 });
/** Shortest password accepted for a console account. */
export const MIN_PASSWORD_LENGTH = 12;
/** Longest password accepted (bounds the work an attacker can ask for). */
export const MAX_PASSWORD_LENGTH = 1024;

const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
/** Parameters accepted when verifying, so a forged hash cannot ask for unbounded work. */
const MAX_N = 2 ** 20;

function scryptAsync(
  password: string,
  salt: Buffer,
  keylen: number,
  options: ScryptOptions,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function maxmem(N: number, r: number, p: number): number {
  return 128 * N * r * p + 8 * 1024 * 1024;
}

/**
 * Hashes a password with a fresh random salt.
 *
 * @example
 * await hashPassword('s3cret-and-long-enough') // 'scrypt$32768$8$1$…$…'
 */
export async function hashPassword(
  password: string,
  params: { N: number; r: number; p: number } = DEFAULT_SCRYPT_PARAMS,
): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  const { N, r, p } = params;
  const key = await scryptAsync(password.normalize('NFC'), salt, KEY_LENGTH, {
    N,
    r,
    p,
    maxmem: maxmem(N, r, p),
  });
  return ['scrypt', N, r, p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/**
 * True when `password` matches `stored`. A malformed `stored` value is simply false.
 *
 * @example
 * if (!(await verifyPassword(given, account.passwordHash))) refuse();
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (![N, r, p].every((n) => Number.isInteger(n) && n > 0) || N > MAX_N || r > 32 || p > 16) return false;
  const salt = Buffer.from(parts[4] ?? '', 'base64url');
  const expected = Buffer.from(parts[5] ?? '', 'base64url');
  if (salt.length === 0 || expected.length === 0) return false;
  const key = await scryptAsync(password.normalize('NFC'), salt, expected.length, {
    N,
    r,
    p,
    maxmem: maxmem(N, r, p),
  });
  return timingSafeEqual(key, expected);
}

/** Why a new password is not acceptable, or undefined when it is. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH)
    return `the password must have at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > MAX_PASSWORD_LENGTH)
    return `the password must have at most ${MAX_PASSWORD_LENGTH} characters`;
  return undefined;
}
