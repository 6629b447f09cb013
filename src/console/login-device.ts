/**
 * Known-device tokens for sign-in throttling: after a successful sign-in the browser gets an HMAC-signed
 * cookie naming the account and a random device id. Sign-ins to that account from that browser are
 * then throttled under the device id instead of the network source, so someone hammering the account
 * from the same address (every console user arrives from 127.0.0.1 through an SSH tunnel) cannot hold
 * the admin's own browser back. The token is no credential: it only chooses the throttling bucket.
 * The key lives in memory: a restart forgets every device.
 *
 * @example
 * const devices = new LoginDevices();
 * setCookie(c, DEVICE_COOKIE, devices.issue('alice'), { ... });
 * devices.deviceOf(getCookie(c, DEVICE_COOKIE), 'alice') // 'd_…' or undefined
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Cookie holding the device token (`__Host-`: Secure, Path=/, no Domain). */
export const DEVICE_COOKIE = '__Host-airlock_device';
/** How long a browser stays a known device of an account. */
export const DEFAULT_LOGIN_DEVICE_MAX_AGE_S = 30 * 24 * 3600;

export class LoginDevices {
  readonly #key = randomBytes(32);

  /** A new token for `account` (a fresh device id). */
  issue(account: string): string {
    const body = Buffer.from(
      JSON.stringify({ a: account.toLowerCase(), d: `d_${randomBytes(12).toString('hex')}` }),
    );
    return `${body.toString('base64url')}.${this.#mac(body).toString('base64url')}`;
  }

  /** The device id of a valid token for `account`, else undefined. */
  deviceOf(token: string | undefined, account: string): string | undefined {
    if (!token || token.length > 512) return undefined;
    const [body, mac] = token.split('.');
    if (!body || !mac) return undefined;
    const bytes = Buffer.from(body, 'base64url');
    const given = Buffer.from(mac, 'base64url');
    const expected = this.#mac(bytes);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    try {
      const parsed = JSON.parse(bytes.toString('utf8')) as { a?: unknown; d?: unknown };
      if (parsed.a !== account.toLowerCase() || typeof parsed.d !== 'string') return undefined;
      return parsed.d;
    } catch {
      return undefined;
    }
  }

  #mac(body: Buffer): Buffer {
    return createHmac('sha256', this.#key).update(body).digest();
  }
}
