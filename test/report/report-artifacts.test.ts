/**
 * The `airlock report` artifacts (see report-run.ts): `report verify` passes, then detects an edited
 * HTML, an edited JSON and a report re-signed with another key; the page opens in real Chromium with
 * no request leaving the file; the console shows it to an auditor (and refuses a supervisor).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium } from 'playwright-core';
import { auditTenant } from '../../src/connector/connector-audit.js';
import { loadConnectorContext } from '../../src/connector/connector-context.js';
import { consoleReportSource } from '../../src/connector/report/console-report-source.js';
import { createConsoleApp } from '../../src/console/console-app.js';
import { serveConsole } from '../../src/console/console-server.js';
import { hashPassword } from '../../src/console/password-hash.js';
import { type SignedReportFile, signedStatement } from '../../src/report/report-signing.js';
import { type ReportRun, startReportRun } from './report-run.js';
import { airlock, type ReportStack, SHADOW_NAME } from './report-stack.js';

const CHROMIUM = process.env.AIRLOCK_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOTS = new URL('../../../docs/screenshots/', import.meta.url).pathname;

let r: ReportStack;
let out: string;
let signed: SignedReportFile;
let run: ReportRun;

before(async () => {
  run = await startReportRun();
  ({ r, out, signed } = run);
});

after(() => run?.close());

test('report verify: OK as written; an edited HTML, an edited JSON and a re-signed report are detected', async () => {
  const dir = join(out, 'report');
  const ok = await airlock(['report', 'verify', dir, '--config', r.acme.configFile]);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /report OK.*\(pinned\)/);

  const html = await readFile(join(dir, 'report.html'), 'utf8');
  const json = await readFile(join(dir, 'report.json'), 'utf8');
  const edits: Array<[string, () => Promise<void>, RegExp]> = [
    [
      'html',
      () => writeFile(join(dir, 'report.html'), html.replace('incident 42', 'routine maintenance')),
      /report\.html was modified/,
    ],
    [
      'json',
      () => writeFile(join(dir, 'report.json'), json.replace('"denied"', '"approved"')),
      /report\.json was modified/,
    ],
  ];
  for (const [what, edit, message] of edits) {
    const copy = join(out, `edited-${what}`);
    await cp(dir, copy, { recursive: true });
    await edit();
    const bad = await airlock(['report', 'verify', dir]);
    assert.equal(bad.code, 1, what);
    assert.match(bad.stdout, message);
    await rm(dir, { recursive: true });
    await cp(copy, dir, { recursive: true });
  }
  // A forger who edits the JSON and re-signs it with their own key passes only without a pinned key.
  const forged = JSON.parse(json) as SignedReportFile;
  forged.report.approvals.counts.denied = 0;
  const { reportDigest } = await import('../../src/report/report-signing.js');
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  forged.signature.reportSha256 = reportDigest(forged.report);
  forged.signature.publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  forged.signature.value = sign(
    null,
    signedStatement(forged.signature.reportSha256, forged.signature.htmlSha256),
    privateKey,
  ).toString('base64url');
  const forgedDir = join(out, 'forged');
  await mkdir(forgedDir);
  await writeFile(join(forgedDir, 'report.json'), JSON.stringify(forged));
  await writeFile(join(forgedDir, 'report.html'), html);
  const pinned = await airlock(['report', 'verify', forgedDir, '--config', r.acme.configFile]);
  assert.equal(pinned.code, 1);
  assert.match(pinned.stdout, /not by the pinned audit key/);
  assert.match(pinned.stdout, /does not embed the digest/);
});

test('report.html is self-contained and renders in Chromium (screenshot)', async () => {
  const file = join(out, 'report', 'report.html');
  const html = await readFile(file, 'utf8');
  assert.doesNotMatch(html, /<script|<link|<img|<iframe|\ssrc=|url\(/i);
  assert.doesNotMatch(html, /href="(?!#)/);
  // A hostile server's name on the network is shown as text, never as markup.
  assert.ok(html.includes('shadow-crm&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(html.includes(`<meta name="airlock-report-digest" content="${signed.signature.reportSha256}">`));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const requests: string[] = [];
    page.on('request', (req) => requests.push(req.url()));
    await page.goto(`file://${file}`);
    await page.getByRole('heading', { name: /Airlock security report/ }).waitFor();
    assert.equal(await page.locator('svg.flow .node.agent').count(), 2);
    assert.equal(await page.locator('svg.flow .node.upstream').count(), 3);
    assert.ok(await page.getByText('incident 42').first().isVisible());
    assert.equal(await page.getByText('no (shadow MCP)').count(), 1);
    assert.equal(await page.getByText(SHADOW_NAME, { exact: false }).count(), 1, 'the markup shows as text');
    await mkdir(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: join(SCREENSHOTS, 'report.png') });
    await page.locator('#path h3', { hasText: 'Data flow' }).scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SCREENSHOTS, 'report-flow.png') });
    assert.deepEqual(
      requests.filter((u) => !u.startsWith('file://')),
      [],
    );
  } finally {
    await browser.close();
  }
});

test('console: an auditor opens the report page and downloads a signed pair that verifies; a supervisor is refused', async () => {
  const c = r.acme.connector;
  const ctx = await loadConnectorContext(r.acme.configFile);
  for (const [name, role] of [
    ['ann', 'auditor'],
    ['sam', 'supervisor'],
  ] as const) {
    await c.store.adminAccounts.putAdminAccount(
      { name, passwordHash: await hashPassword(`${name}-password-123`), role, revealPii: false },
      Date.now(),
    );
  }
  const source = consoleReportSource({
    ctx,
    store: c.store,
    tenant: auditTenant(ctx),
    live: () => c.catalog.status(),
  });
  const app = createConsoleApp({ store: c.store, status: () => c.status(), report: source, activity: false });
  const server = await serveConsole(app, { host: '127.0.0.1', port: 0 });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu'],
  });
  try {
    const signIn = async (name: string) => {
      const context = await browser.newContext({
        viewport: { width: 1280, height: 800 },
        acceptDownloads: true,
      });
      const page = await context.newPage();
      await page.goto(`${server.url}/login`);
      await page.getByLabel('Account name').fill(name);
      await page.getByLabel('Password').fill(`${name}-password-123`);
      await page.getByRole('button', { name: /sign in/i }).click();
      await page.waitForURL((u) => !u.pathname.startsWith('/login'));
      return { context, page };
    };
    const sam = await signIn('sam');
    const refused = await sam.page.goto(`${server.url}/report`);
    assert.equal(refused?.status(), 403);
    await sam.context.close();

    const ann = await signIn('ann');
    await ann.page.goto(`${server.url}/report?agent=agent-2`);
    await ann.page.getByRole('heading', { name: /Airlock security report/ }).waitFor();
    assert.equal(await ann.page.locator('svg.flow .node.agent').count(), 1, 'filtered to agent-2');
    assert.equal(
      await ann.page
        .locator('header.top')
        .evaluate(
          (el) =>
            (
              globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }
            ).getComputedStyle(el).backgroundColor,
        ),
      'rgb(13, 27, 42)',
    );
    await ann.page.screenshot({ path: join(SCREENSHOTS, 'report-console.png') });
    const dir = join(out, 'from-console');
    await mkdir(dir);
    for (const name of ['report.json', 'report.html']) {
      const [download] = await Promise.all([
        ann.page.waitForEvent('download'),
        ann.page.getByRole('link', { name }).click(),
      ]);
      await download.saveAs(join(dir, name));
    }
    const verified = await airlock(['report', 'verify', dir, '--config', r.acme.configFile]);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    await ann.context.close();
  } finally {
    await browser.close();
    await server.close();
  }
});
