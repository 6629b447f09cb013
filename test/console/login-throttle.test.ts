/**
 * Console sign-in throttling (issue 13): exponential delays per source and per account, never a lock
 * an attacker can hold. With an injected clock: the real admin, after their own typos, gets in from
 * their own source once their delay has passed, while an attacker from another source hammers the
 * same account; the attacker is slowed down all the while. Once on the class alone, once over real
 * HTTP (sources 127.0.0.2 and 127.0.0.3 on loopback) through the real console and store.
 */
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { type ConsoleApp, createConsoleApp } from '../../src/console/console-app.js';
import { type ConsoleServer, serveConsole } from '../../src/console/console-server.js';
import { DEFAULT_LOGIN_MAX_DELAY_MS, LoginThrottle } from '../../src/console/login-throttle.js';
import { hashPassword } from '../../src/console/password-hash.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';

describe('LoginThrottle', () => {
  it('delays exponentially per source; an attacker elsewhere cannot keep the admin out', () => {
    let clock = 1_000_000;
    const t = new LoginThrottle({ now: () => clock, freeFailures: 3, baseDelayMs: 1000, maxDelayMs: 60_000 });
    // The admin mistypes from their own source: free failures, then 1 s, 2 s…
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(t.check('admin', '10.0.0.1'), { allowed: true });
      t.failure('admin', '10.0.0.1');
    }
    t.check('admin', '10.0.0.1');
    t.failure('admin', '10.0.0.1');
    assert.deepEqual(t.check('admin', '10.0.0.1'), { allowed: false, retryAfterMs: 1000 });
    const adminLast = clock;

    // An attacker hammers the account from elsewhere for a (virtual) hour, as fast as allowed.
    let attempts = 0;
    const start = clock;
    while (clock - start < 3_600_000) {
      const gate = t.check('admin', '203.0.113.9');
      if (!gate.allowed) {
        clock += gate.retryAfterMs;
        continue;
      }
      t.failure('admin', '203.0.113.9');
      attempts++;
    }
    assert.ok(attempts < 80, `the attacker is slowed down: ${attempts} guesses in an hour`);
    // The admin waits at most maxDelay after their own last attempt, however long the attack went on.
    clock = Math.max(clock, adminLast + 60_000);
    assert.deepEqual(t.check('admin', '10.0.0.1'), { allowed: true });
    t.success('admin', '10.0.0.1');
    // A fresh source of the admin's (a new laptop) is not held by the account gate on its first try.
    t.failure('admin', '203.0.113.9');
    assert.deepEqual(t.check('admin', '192.0.2.44'), { allowed: true });
  });

  it('forgets old failures and keeps its memory bounded', () => {
    let clock = 0;
    const t = new LoginThrottle({ now: () => clock, freeFailures: 0, forgetAfterMs: 60_000, maxEntries: 16 });
    t.failure('x', 's');
    assert.equal(t.check('x', 's').allowed, false);
    clock += 60_000;
    assert.equal(t.check('x', 's').allowed, true);
    for (let i = 0; i < 1000; i++) t.failure(`acct-${i}`, `src-${i}`);
    assert.equal(t.check('acct-0', 'src-0').allowed, true, 'the oldest entries were dropped');
    assert.equal(t.check('acct-999', 'src-999').allowed, false);
  });
});

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** The real console over a real store with one admin account, on 127.0.0.1, with an injected clock. */
interface SignInRig {
  /** The console's clock (ms); tests move it forward. */
  clock: { now: number };
  /** One sign-in attempt as `admin` from `from` (fresh form and CSRF cookie each time). */
  signIn(from: string, password: string, device?: string): Promise<Reply>;
  close(): Promise<void>;
}

/** Sends one request to `server` from the local address `from`, with the console's own Origin. */
function send(
  server: ConsoleServer,
  from: string,
  method: string,
  path: string,
  body?: string,
  cookie?: string,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { origin: server.url };
    if (cookie) headers.cookie = cookie;
    if (body !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const req = httpRequest(
      { host: '127.0.0.1', port: server.port, method, path, headers, localAddress: from },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

async function startSignInRig(): Promise<SignInRig> {
  const clock = { now: 1_700_000_000_000 };
  const store: Store = await openStore({ url: 'sqlite::memory:' });
  await store.adminAccounts.putAdminAccount(
    {
      name: 'admin',
      passwordHash: await hashPassword('the-real-admin-password'),
      role: 'admin',
      revealPii: false,
    },
    clock.now,
  );
  const app: ConsoleApp = createConsoleApp({
    store,
    status: () => ({ tenant: 'acme', tenantHost: 'acme.localhost', tunnels: [], upstreams: [] }),
    activity: false,
    pii: false,
    now: () => clock.now,
  });
  const server: ConsoleServer = await serveConsole(app, { host: '127.0.0.1', port: 0 });
  return {
    clock,
    async signIn(from, password, device) {
      const page = await send(server, from, 'GET', '/login');
      const cookies = (page.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]);
      const cookie = [...cookies, ...(device ? [device] : [])].join('; ');
      const token = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
      const body = new URLSearchParams({ _csrf: token, name: 'admin', password, next: '/' }).toString();
      return send(server, from, 'POST', '/login', body, cookie);
    },
    async close() {
      await server.close();
      await store.close();
    },
  };
}

describe('console sign-in under attack (real HTTP, injected clock): the admin and an attacker', () => {
  let rig: SignInRig;
  before(async () => {
    rig = await startSignInRig();
  });
  after(() => rig.close());

  it('the admin gets in from their own source once the delay has passed, while the attack goes on', async () => {
    const { clock, signIn } = rig;
    const admin = '127.0.0.3';
    const attacker = '127.0.0.2';
    // The admin mistypes until throttled.
    let reply = await signIn(admin, 'typo');
    for (let i = 0; i < 10 && reply.status === 401; i++) reply = await signIn(admin, 'typo');
    assert.equal(reply.status, 429, 'throttled after repeated failures');
    const adminLast = clock.now;
    // The right password does not bypass the delay.
    assert.equal((await signIn(admin, 'the-real-admin-password')).status, 429);
    // The attacker hammers the account (bounded loop), advancing virtual time as the throttle allows.
    let refused = 0;
    let guesses = 0;
    for (let i = 0; i < 60; i++) {
      const r = await signIn(attacker, `guess-${i}`);
      if (r.status === 429) {
        refused++;
        clock.now += Number(r.headers['retry-after'] ?? '1') * 1000;
      } else {
        assert.equal(r.status, 401);
        guesses++;
      }
    }
    assert.ok(refused >= guesses - 1, `attacker slowed: ${guesses} guesses, ${refused} refusals`);
    // However long that went on, the admin gets in at most the longest delay after their own last attempt.
    clock.now = Math.max(clock.now, adminLast + DEFAULT_LOGIN_MAX_DELAY_MS);
    const ok = await signIn(admin, 'the-real-admin-password');
    assert.equal(ok.status, 303, ok.body.slice(0, 300));
    assert.match(String(ok.headers['set-cookie']), /__Host-airlock_session=/);
  });
});

describe('console sign-in under attack (real HTTP, injected clock): one shared address', () => {
  let rig: SignInRig;
  before(async () => {
    rig = await startSignInRig();
  });
  after(() => rig.close());

  it("behind one address (an SSH tunnel), the admin's known browser is not held back by someone else", async () => {
    const { signIn } = rig;
    const shared = '127.0.0.4';
    const first = await signIn(shared, 'the-real-admin-password');
    assert.equal(first.status, 303);
    const device = (first.headers['set-cookie'] ?? [])
      .map((c) => c.split(';')[0] ?? '')
      .find((c) => c.startsWith('__Host-airlock_device='));
    assert.ok(device, 'a known-device cookie after signing in');
    // Someone else on the same address hammers the account until throttled.
    let throttled = 0;
    for (let i = 0; i < 20; i++) {
      const r = await signIn(shared, `guess-${i}`);
      if (r.status === 429) throttled++;
      else assert.equal(r.status, 401);
    }
    assert.ok(throttled > 0, 'the guessing is throttled');
    assert.equal((await signIn(shared, 'the-real-admin-password')).status, 429, 'the address is throttled');
    // The admin's browser, known to the console, is throttled on its own and gets in at once.
    const ok = await signIn(shared, 'the-real-admin-password', device);
    assert.equal(ok.status, 303, ok.body.slice(0, 300));
    // A forged or foreign device token is ignored.
    const forged = await signIn(shared, 'the-real-admin-password', '__Host-airlock_device=e30.AAAA');
    assert.equal(forged.status, 429);
  });
});
