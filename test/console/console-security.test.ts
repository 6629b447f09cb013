/**
 * Console security over real HTTP (node:http, so every header is under the test's control): no access
 * without login, cookie attributes, CSRF token required, foreign Origin and foreign Host refused,
 * self-approval refused, roles, PII reveal permission, sign-in throttling, logout and disabled accounts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createCertificateAuthority, issueServerCertificate } from '../../src/identity/pki.js';
import { pendingApprovalId } from '../approvals/approval-request.js';
import { TENANT_HOST } from '../fixtures/tenant-tls-kit.js';
import { type Harness, startHarness } from './console-harness.js';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

let dir: string;
let h: Harness;
let port: number;
let origin: string;

function send(
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: string; cookie?: string; from?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.cookie) headers.cookie = opts.cookie;
    if (opts.body !== undefined) headers['content-length'] = String(Buffer.byteLength(opts.body));
    const local = opts.from ? { localAddress: opts.from } : {};
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers, ...local }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

function form(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString();
}

const FORM = 'application/x-www-form-urlencoded';

function cookieValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  for (const line of headers['set-cookie'] ?? []) {
    const [pair] = line.split(';');
    const [k, v] = (pair ?? '').split('=');
    if (k === name) return v;
  }
  return undefined;
}

interface Session {
  cookie: string;
  csrf: string;
}

async function login(name: string, password: string): Promise<Session> {
  const page = await send('GET', '/login');
  const loginCookie = cookieValue(page.headers, '__Host-airlock_login');
  const token = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1];
  assert.ok(loginCookie && token, 'login form with a CSRF token and cookie');
  const res = await send('POST', '/login', {
    headers: { 'content-type': FORM, origin },
    cookie: `__Host-airlock_login=${loginCookie}`,
    body: form({ _csrf: token, name, password, next: '/approvals' }),
  });
  assert.equal(res.status, 303, `sign-in of ${name}: ${res.body.slice(0, 300)}`);
  const session = cookieValue(res.headers, '__Host-airlock_session');
  assert.ok(session);
  const cookie = `__Host-airlock_session=${session}`;
  const approvals = await send('GET', '/approvals', { cookie });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(approvals.body)?.[1];
  assert.ok(csrf);
  return { cookie, csrf };
}

function pendingApproval(args: Record<string, unknown>, identity = 'claims-bot'): Promise<string> {
  return pendingApprovalId(h.queue, args, { identity, host: TENANT_HOST, tool: 'fixture.echo' });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-console-sec-'));
  const ca = await createCertificateAuthority({ commonName: 'console security CA' });
  const server = await issueServerCertificate(ca, { commonName: TENANT_HOST, dnsNames: [TENANT_HOST] });
  h = await startHarness({ storeUrl: 'sqlite::memory:', dir, ca, server, queue: { holdMs: 0 } });
  port = h.console.port;
  origin = `http://127.0.0.1:${port}`;
  await h.addAccount('alice', 'alice-password-123', 'admin', true);
  await h.addAccount('bob', 'bob-password-1234', 'supervisor');
  await h.addAccount('claims-bot', 'selfish-password-1', 'supervisor');
  await h.addAccount('audrey', 'audrey-password-1', 'auditor');
  await h.addAccount('mallory', 'mallory-password-1', 'admin');
});

after(async () => {
  await h?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('console security: no access without login, session cookie and headers', () => {
  it('refuses every page, API and live stream without a login', async () => {
    for (const path of ['/', '/approvals', '/audit', '/catalog', '/identities', '/policy', '/audit/1']) {
      const res = await send('GET', path);
      assert.equal(res.status, 303, path);
      assert.equal(res.headers.location, `/login?next=${encodeURIComponent(path)}`);
    }
    for (const path of ['/api/status', '/api/approvals', '/events/approvals']) {
      const res = await send('GET', path);
      assert.equal(res.status, 401, path);
      assert.match(res.body, /AIRLOCK_CONSOLE_LOGIN_REQUIRED/);
    }
    const id = await pendingApproval({ text: 'no login' });
    const post = await send('POST', `/approvals/${id}/approve`, {
      headers: { 'content-type': FORM, origin },
      body: form({}),
    });
    assert.equal(post.status, 401);
    assert.equal((await h.queue.get(id))?.status, 'pending');
    // Public: health and the two assets only.
    assert.equal((await send('GET', '/healthz')).status, 200);
    assert.equal((await send('GET', '/console.js')).status, 200);
    // A forged session cookie is not a session.
    assert.equal((await send('GET', '/', { cookie: '__Host-airlock_session=forged' })).status, 303);
  });

  it('signs in with a __Host- cookie (Secure, HttpOnly, SameSite=Strict, Path=/) and strict security headers', async () => {
    const page = await send('GET', '/login');
    const csp = String(page.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(page.headers['x-frame-options'], 'DENY');
    assert.equal(page.headers['cache-control'], 'no-store');
    assert.doesNotMatch(page.body, /<script>|<script [^>]*>[^<]|style="/, 'no inline script or style');
    const loginCookie = cookieValue(page.headers, '__Host-airlock_login');
    const token = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
    const res = await send('POST', '/login', {
      headers: { 'content-type': FORM, origin },
      cookie: `__Host-airlock_login=${loginCookie}`,
      body: form({ _csrf: token, name: 'alice', password: 'alice-password-123', next: '//evil.example/' }),
    });
    assert.equal(res.status, 303);
    assert.equal(res.headers.location, '/', 'an off-site "next" is ignored');
    const line = (res.headers['set-cookie'] ?? []).find((l) => l.startsWith('__Host-airlock_session='));
    assert.ok(line);
    assert.match(line, /; Secure/i);
    assert.match(line, /; HttpOnly/i);
    assert.match(line, /; SameSite=Strict/i);
    assert.match(line, /; Path=\//i);
    assert.doesNotMatch(line, /Domain=/i);
  });
});

describe('console security: refused sign-ins and throttling', () => {
  it('refuses a wrong password, a sign-in without its CSRF cookie, and throttles guessing', async () => {
    const page = await send('GET', '/login');
    const loginCookie = cookieValue(page.headers, '__Host-airlock_login');
    const token = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
    const wrong = await send('POST', '/login', {
      headers: { 'content-type': FORM, origin },
      cookie: `__Host-airlock_login=${loginCookie}`,
      body: form({ _csrf: token, name: 'bob', password: 'not-bobs-password' }),
    });
    assert.equal(wrong.status, 401);
    assert.match(wrong.body, /Wrong account name or password/);
    assert.equal(cookieValue(wrong.headers, '__Host-airlock_session'), undefined);
    const noCookie = await send('POST', '/login', {
      headers: { 'content-type': FORM, origin },
      body: form({ _csrf: token, name: 'bob', password: 'bob-password-1234' }),
    });
    assert.equal(noCookie.status, 403);
    assert.equal(cookieValue(noCookie.headers, '__Host-airlock_session'), undefined);
    // Guessing from another source (127.0.0.2) is slowed down, the right password included…
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await send('POST', '/login', {
        headers: { 'content-type': FORM, origin },
        cookie: `__Host-airlock_login=${loginCookie}`,
        body: form({ _csrf: token, name: 'mallory', password: `guess-${i}-xxxxxxxx` }),
        from: '127.0.0.2',
      });
      statuses.push(r.status);
    }
    assert.ok(statuses.includes(429), `guessing is throttled: ${statuses.join(',')}`);
    const locked = await send('POST', '/login', {
      headers: { 'content-type': FORM, origin },
      cookie: `__Host-airlock_login=${loginCookie}`,
      body: form({ _csrf: token, name: 'mallory', password: 'mallory-password-1' }),
      from: '127.0.0.2',
    });
    assert.equal(locked.status, 429, 'even the right password waits once throttled');
    assert.ok(Number(locked.headers['retry-after']) >= 1);
    // …but it does not lock the account: the owner, from their own source, gets in at once.
    const owner = await send('POST', '/login', {
      headers: { 'content-type': FORM, origin },
      cookie: `__Host-airlock_login=${loginCookie}`,
      body: form({ _csrf: token, name: 'mallory', password: 'mallory-password-1' }),
      from: '127.0.0.3',
    });
    assert.equal(owner.status, 303, 'the real owner is not locked out by the guessing');
  });
});

describe('console security: CSRF token', () => {
  it('requires the session CSRF token on every state-changing request', async () => {
    const s = await login('bob', 'bob-password-1234');
    const id = await pendingApproval({ text: 'csrf' });
    const none = await send('POST', `/approvals/${id}/approve`, {
      headers: { 'content-type': FORM, origin },
      cookie: s.cookie,
      body: form({ reason: 'x' }),
    });
    assert.equal(none.status, 403);
    assert.match(none.body, /AIRLOCK_CONSOLE_CSRF/);
    const wrong = await send('POST', `/approvals/${id}/approve`, {
      headers: { 'content-type': FORM, origin },
      cookie: s.cookie,
      body: form({ _csrf: `${s.csrf}x`, reason: 'x' }),
    });
    assert.equal(wrong.status, 403);
    const other = await login('alice', 'alice-password-123');
    const crossed = await send('POST', `/approvals/${id}/approve`, {
      headers: { 'content-type': FORM, origin },
      cookie: s.cookie,
      body: form({ _csrf: other.csrf }),
    });
    assert.equal(crossed.status, 403, "another session's token is not this session's");
    assert.equal((await h.queue.get(id))?.status, 'pending');
    const ok = await send('POST', `/approvals/${id}/approve`, {
      headers: { 'content-type': FORM, origin },
      cookie: s.cookie,
      body: form({ _csrf: s.csrf, reason: 'fine' }),
    });
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.location, `/approvals?done=approved&id=${id}`);
    const record = await h.queue.get(id);
    assert.equal(record?.status, 'approved');
    assert.equal(record?.decidedBy, 'console:bob', 'the principal of the signed-in account');
    // The header form (fetch from the page's script) works too; logout needs the token as well.
    const noTokenLogout = await send('POST', '/logout', { headers: { origin }, cookie: s.cookie });
    assert.equal(noTokenLogout.status, 403);
  });
});

describe('console security: Origin, Host and separation of duties', () => {
  it('refuses a foreign or missing Origin, and a foreign Host (DNS rebinding)', async () => {
    const s = await login('bob', 'bob-password-1234');
    const id = await pendingApproval({ text: 'origin' });
    for (const headers of [
      { origin: 'http://evil.example' },
      { origin: `http://localhost:${port + 1}` },
      { origin: 'null' },
      {} as Record<string, string>,
    ]) {
      const res = await send('POST', `/approvals/${id}/approve`, {
        headers: { 'content-type': FORM, 'x-csrf-token': s.csrf, ...headers },
        cookie: s.cookie,
        body: form({}),
      });
      assert.equal(res.status, 403, JSON.stringify(headers));
      assert.match(res.body, /Origin check/);
    }
    assert.equal((await h.queue.get(id))?.status, 'pending');
    const rebound = await send('GET', '/', { headers: { host: `evil.example:${port}` }, cookie: s.cookie });
    assert.equal(rebound.status, 421);
    const viaLocalhost = await send('GET', '/', { headers: { host: `localhost:${port}` }, cookie: s.cookie });
    assert.equal(viaLocalhost.status, 200);
    // With the token in the header and the right Origin, a JSON client can decide.
    const ok = await send('POST', `/approvals/${id}/deny`, {
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        'x-csrf-token': s.csrf,
        origin,
      },
      cookie: s.cookie,
      body: JSON.stringify({ reason: 'no' }),
    });
    assert.equal(ok.status, 200, ok.body);
    assert.equal((JSON.parse(ok.body) as { approval: { status: string } }).approval.status, 'denied');
  });

  it('refuses self-approval (separation of duties) and decisions by read-only roles', async () => {
    const id = await pendingApproval({ text: 'approve my own call' });
    const self = await login('claims-bot', 'selfish-password-1');
    const res = await send('POST', `/approvals/${id}/approve`, {
      headers: { 'content-type': FORM, origin, accept: 'text/html' },
      cookie: self.cookie,
      body: form({ _csrf: self.csrf }),
    });
    assert.equal(res.status, 403);
    assert.match(res.body, /role="alert"[^>]*>separation of duties: claims-bot asked for this call/);
    const json = await send('POST', `/approvals/${id}/approve`, {
      headers: { 'content-type': FORM, origin, accept: 'application/json' },
      cookie: self.cookie,
      body: form({ _csrf: self.csrf }),
    });
    assert.equal((JSON.parse(json.body) as { error: { code: string } }).error.code, 'AIRLOCK_APPROVAL_SELF');
    const auditor = await login('audrey', 'audrey-password-1');
    const ro = await send('POST', `/approvals/${id}/approve`, {
      headers: { 'content-type': FORM, origin, accept: 'application/json' },
      cookie: auditor.cookie,
      body: form({ _csrf: auditor.csrf }),
    });
    assert.equal(ro.status, 403);
    const kill = await send('POST', '/catalog/tools/fixture.echo/disable', {
      headers: { 'content-type': FORM, origin, accept: 'application/json' },
      cookie: self.cookie,
      body: form({ _csrf: self.csrf, reason: 'x' }),
    });
    assert.equal(kill.status, 403, 'a supervisor cannot use the kill switch');
    assert.equal((await h.queue.get(id))?.status, 'pending');
  });
});

describe('console security: personal data and the end of a session', () => {
  it('masks values that look like personal data unless the account may reveal them', async () => {
    const id = await pendingApproval({
      text: 'pay refund to anna.schmidt@example.com',
      iban: 'DE89 3704 0044 0532 0130 00',
    });
    const bob = await login('bob', 'bob-password-1234');
    const masked = await send('GET', '/approvals', { cookie: bob.cookie });
    assert.ok(masked.body.includes(`approval-${id}`));
    assert.ok(!masked.body.includes('anna.schmidt@example.com'), 'e-mail masked');
    assert.ok(!masked.body.includes('0532 0130'), 'IBAN masked');
    assert.match(masked.body, /\[EMAIL\]/);
    assert.equal((await send('GET', `/approvals/${id}?reveal=1`, { cookie: bob.cookie })).status, 403);
    const alice = await login('alice', 'alice-password-123');
    const revealed = await send('GET', `/approvals/${id}?reveal=1`, { cookie: alice.cookie });
    assert.equal(revealed.status, 200);
    assert.ok(revealed.body.includes('anna.schmidt@example.com'));
  });

  it('ends a session on logout and when its account is disabled', async () => {
    const s = await login('bob', 'bob-password-1234');
    const out = await send('POST', '/logout', {
      headers: { 'content-type': FORM, origin },
      cookie: s.cookie,
      body: form({ _csrf: s.csrf }),
    });
    assert.equal(out.status, 303);
    assert.equal((await send('GET', '/', { cookie: s.cookie })).status, 303);
    const m = await login('alice', 'alice-password-123');
    assert.equal((await send('GET', '/', { cookie: m.cookie })).status, 200);
    await h.store.adminAccounts.disableAdminAccount('alice', Date.now());
    assert.equal((await send('GET', '/', { cookie: m.cookie })).status, 303);
    await h.addAccount('alice', 'alice-password-123', 'admin', true);
  });
});
