/**
 * Console sign-in through a real OpenID Connect provider (`oidc-provider`, started here) in real
 * Chromium: authorization code + PKCE with a confidential client; the `groups` claim maps to a
 * console role; the IdP account becomes `sso.<login>`, which cannot sign in with a password. The
 * attacker's moves: a callback the console did not start, a person without a mapped role, an IdP
 * login that names an existing local account, a disabled account — all refused without a session.
 * Local accounts keep working (break-glass).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { createCertificateAuthority, issueServerCertificate } from '../../src/identity/pki.js';
import { TENANT_HOST } from '../fixtures/tenant-tls-kit.js';
import { type Harness, startHarness } from './console-harness.js';
import { type ConsoleIdp, startConsoleIdp } from './oidc-console-idp.js';

const CHROMIUM = process.env.AIRLOCK_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOTS = new URL('../../../docs/screenshots/', import.meta.url).pathname;

let dir: string;
let h: Harness;
let idp: ConsoleIdp;
let browser: Browser;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-console-oidc-'));
  idp = await startConsoleIdp({
    sam: ['claims-leads'],
    olga: ['airlock-admins'],
    eve: ['contractors'],
    rita: ['claims-leads', 'airlock-admins'],
  });
  const ca = await createCertificateAuthority({ commonName: 'console oidc CA' });
  const server = await issueServerCertificate(ca, { commonName: TENANT_HOST, dnsNames: [TENANT_HOST] });
  h = await startHarness({
    storeUrl: `sqlite:${join(dir, 'connector.db')}`,
    dir,
    ca,
    server,
    console: {
      oidc: {
        issuer: idp.issuer,
        clientId: idp.clientId,
        clientSecret: idp.clientSecret,
        roleClaim: 'groups',
        roleMap: { 'claims-leads': 'supervisor', 'airlock-admins': 'admin' },
        label: 'Sign in with Acme SSO',
        allowHttpIssuer: true,
      },
    },
  });
  await idp.configure(`${h.console.url}/login/oidc/callback`);
  await h.addAccount('breakglass', 'breakglass-password-1', 'admin');
  await h.addAccount('sso.olga', 'a-local-password-123', 'auditor');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
    ],
  });
  await mkdir(SCREENSHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await h?.close();
  await idp?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A fresh browser (no IdP session) that signs in as `login` through the IdP, from `path`. */
async function signInThroughIdp(login: string, path = '/approvals'): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${h.console.url}${path}`);
  assert.match(page.url(), /\/login\?next=/);
  if (login === 'sam') {
    const width = (await page.evaluate('document.documentElement.scrollWidth')) as number;
    assert.ok(width <= 1280, `the sign-in page is ${width} px wide`);
    await page.screenshot({ path: join(SCREENSHOTS, 'login-sso.png') });
  }
  await page.getByRole('link', { name: 'Sign in with Acme SSO' }).click();
  await page.waitForURL((u) => u.origin === new URL(idp.issuer).origin);
  await page.locator('input[name=login]').fill(login);
  await page.locator('input[name=password]').fill('any password');
  await page.locator('button[type=submit]').click();
  // The development consent page of oidc-provider is shown for a first grant.
  const atConsole = (u: URL) => u.origin === new URL(h.console.url).origin;
  const consent = page.locator('input[name=prompt][value=consent]');
  const toConsole = page.waitForURL(atConsole).then(
    () => 'console' as const,
    () => 'timeout' as const,
  );
  const toConsent = consent.waitFor({ state: 'attached' }).then(
    () => 'consent' as const,
    () => 'timeout' as const,
  );
  const where = await Promise.race([toConsole, toConsent]);
  if (where === 'consent') await page.locator('button[type=submit]').click();
  assert.notEqual(await toConsole, 'timeout', `back at the console: ${page.url()}`);
  return page;
}

it('a supervisor signs in through the IdP (code + PKCE) and lands on the page asked for', async () => {
  const page = await signInThroughIdp('sam');
  await page.waitForURL(`${h.console.url}/approvals`);
  await page.getByRole('heading', { name: 'Approvals' }).waitFor();
  const who = (await page.locator('.who').textContent()) ?? '';
  assert.match(who, /sso\.sam/);
  assert.match(who, /supervisor/);
  const account = await h.store.adminAccounts.getAdminAccount('sso.sam');
  assert.equal(account?.role, 'supervisor');
  assert.match(account?.passwordHash ?? '', /^oidc\$[0-9a-f]{64}$/, 'no password can match');
  const width = (await page.evaluate('document.documentElement.scrollWidth')) as number;
  assert.ok(width <= 1280);
  await page.context().close();
});

it('the strongest mapped role wins', async () => {
  const page = await signInThroughIdp('rita', '/');
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  assert.equal((await h.store.adminAccounts.getAdminAccount('sso.rita'))?.role, 'admin');
  await page.context().close();
});

it('refuses a person whose groups map to no console role', async () => {
  const page = await signInThroughIdp('eve');
  await page.getByText('has no role in this console').waitFor();
  assert.equal(await h.store.adminAccounts.getAdminAccount('sso.eve'), undefined);
  const cookies = await page.context().cookies(h.console.url);
  assert.ok(!cookies.some((c) => c.name === '__Host-airlock_session'), 'no session');
  await page.context().close();
});

it('an IdP login never takes over a local account of the same name', async () => {
  const page = await signInThroughIdp('olga');
  await page.getByText('belongs to someone else').waitFor();
  const local = await h.store.adminAccounts.getAdminAccount('sso.olga');
  assert.equal(local?.role, 'auditor', 'the local account is unchanged');
  assert.match(local?.passwordHash ?? '', /^scrypt\$/);
  await page.context().close();
});

it('a disabled IdP account is refused at its next IdP sign-in', async () => {
  assert.ok(await h.store.adminAccounts.disableAdminAccount('sso.sam', Date.now()));
  const page = await signInThroughIdp('sam');
  await page.getByText('was disabled by an administrator').waitFor();
  await page.context().close();
});

it('refuses a callback the console did not start (forged code and state)', async () => {
  const res = await fetch(`${h.console.url}/login/oidc/callback?code=stolen&state=guess`);
  assert.equal(res.status, 403);
  assert.match(await res.text(), /not started here/);
  assert.equal(
    res.headers.getSetCookie().some((c) => c.startsWith('__Host-airlock_session=')),
    false,
  );
});

it('local accounts stay as break-glass; an sso. account cannot sign in with a password', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${h.console.url}/login`);
  await page.getByLabel('Account name').fill('sso.rita');
  await page.getByLabel('Password').fill('any password at all');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('Wrong account name or password.').waitFor();
  await page.getByLabel('Account name').fill('breakglass');
  await page.getByLabel('Password').fill('breakglass-password-1');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${h.console.url}/`);
  assert.match((await page.locator('.who').textContent()) ?? '', /breakglass/);
  await context.close();
});
