/**
 * `airlock demo`: a relay, an enrolled connector, two private MCP servers (the sample ERP over
 * SQLite and `@modelcontextprotocol/server-everything`) and an agent identity, all on localhost
 * with embedded SQLite. State lives in `dataDir` and is reused on the next start.
 *
 * @example
 * const demo = await startDemo({ dataDir: '.airlock/demo', port: 0 });
 * console.log(demo.info.mcpUrl); // https://acme.localhost:<port>/mcp
 * await demo.close();
 */
import { randomBytes } from 'node:crypto';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Logger, pino } from 'pino';
import { stringify } from 'yaml';
import { type Connector, startConnector } from '../connector/connector.js';
import { loadConnectorContext } from '../connector/connector-context.js';
import { enrollFromConfig } from '../connector/enroll-connector.js';
import { hashPassword } from '../console/password-hash.js';
import { issueAgentIdentity } from '../identity/tenant-pki.js';
import { relayConfigFromValues, startRelayFromConfig } from '../relay/relay-from-config.js';
import type { Relay } from '../relay/relay-server.js';
import { prepareSandboxWritableDir } from '../sandbox/sandbox-writable-dir.js';
import { DEMO_POLICY } from './demo-policy.js';

export const DEMO_TENANT = 'acme';
export const DEMO_AGENT = 'demo-agent';
export const DEMO_DOMAIN = 'localhost';
export const DEMO_CONSOLE_USER = 'admin';

export interface DemoOptions {
  dataDir: string;
  /** Relay port; 0 picks a free one. */
  port: number;
  logger?: Logger;
}

/** What `airlock demo --json` prints. */
export interface DemoInfo {
  mcpUrl: string;
  relay: { host: string; port: number };
  caFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  consoleUrl: string;
  /** Console login: user name, and the file holding its password. */
  consoleUser: string;
  consolePasswordFile: string;
  metricsUrl: string;
  dataDir: string;
  tenantHost: string;
  agent: string;
  /** The demo runs its sample servers with `sandbox.mode: preferred` (not the default `required`). */
  sandbox: DemoSandboxInfo;
}

/** Sandbox state of the demo's upstreams, for the banner (`demoSandboxBanner`). */
export interface DemoSandboxInfo {
  mode: 'preferred';
  upstreams: Array<{ name: string; sandboxed: boolean | undefined }>;
  /** The loud warning the CLI prints. */
  warning: string;
}

/** What the demo says about its sandbox mode, first thing in its banner. */
export const DEMO_SANDBOX_WARNING =
  'WARNING: this demo runs its sample MCP servers with sandbox.mode "preferred": where bubblewrap is ' +
  "missing they run WITHOUT a sandbox, as your user, and could read the connector's keys. A real " +
  'connector defaults to "required" and refuses to start an upstream it cannot sandbox.';

/**
 * The banner lines about the sandbox (the CLI prints them before the demo's URLs).
 *
 * @example
 * process.stdout.write(demoSandboxBanner(demo.info));
 */
export function demoSandboxBanner(info: Pick<DemoInfo, 'sandbox'>): string {
  const rows = info.sandbox.upstreams.map(
    (u) =>
      `  ${u.name.padEnd(12)} ${u.sandboxed === true ? 'sandboxed' : u.sandboxed === false ? 'UNSANDBOXED' : 'not started'}`,
  );
  const line = '!'.repeat(78);
  return `${line}\n${info.sandbox.warning}\n${rows.join('\n')}\n${line}\n`;
}

export interface Demo {
  info: DemoInfo;
  relay: Relay;
  connector: Connector;
  close(): Promise<void>;
}

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

function sampleErpEntry(): string {
  // dist/src/demo/demo.js → dist/samples/erp/server.js
  return fileURLToPath(new URL('../../samples/erp/server.js', import.meta.url));
}

function everythingEntry(): string {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('@modelcontextprotocol/server-everything/package.json');
  return join(dirname(pkg), 'dist', 'index.js');
}

/** The demo's folders: its root (searchable), the connector's (private, with the keys), the ERP's. */
interface DemoDirs {
  dataDir: string;
  relayDir: string;
  connectorDir: string;
  erpDir: string;
}

/** The relay, on localhost with the demo domain, its identity kept in `relayDir`. */
function startDemoRelay(dirs: DemoDirs, port: number, logger: Logger): Promise<Relay> {
  return startRelayFromConfig(
    relayConfigFromValues({
      domain: DEMO_DOMAIN,
      listen: `127.0.0.1:${port}`,
      admin: { listen: '127.0.0.1:0' },
      dataDir: dirs.relayDir,
    }),
    logger.child({ part: 'relay' }),
  );
}

/** Writes the connector's config (rewritten each start) and the demo policy (kept once written); returns the config file. */
async function writeDemoConnectorConfig(dirs: DemoDirs, relay: Relay): Promise<string> {
  const configFile = join(dirs.connectorDir, 'connector.yaml');
  const policyFile = join(dirs.connectorDir, 'policy.yaml');
  if (!(await exists(policyFile))) await writeFile(policyFile, DEMO_POLICY);
  const config = {
    dataDir: '.',
    relay: {
      url: `tls://${relay.relayHost}:${relay.port}`,
      connect: `127.0.0.1:${relay.port}`,
      caFile: join(dirs.relayDir, 'identity', 'ca.pem'),
      tunnels: 2,
    },
    admin: { listen: '127.0.0.1:0' },
    policy: { file: 'policy.yaml' },
    upstreams: {
      erp: {
        command: process.execPath,
        args: [sampleErpEntry(), '--db', join(dirs.erpDir, 'erp.sqlite')],
        // The demo must run where bubblewrap is missing too: "preferred", said loudly (DEMO_SANDBOX_WARNING).
        sandbox: { mode: 'preferred', readWritePaths: [dirs.erpDir] },
      },
      everything: {
        command: process.execPath,
        args: [everythingEntry(), 'stdio'],
        sandbox: { mode: 'preferred' },
      },
    },
  };
  await writeFile(
    configFile,
    `# Written by "airlock demo"; edit freely, it is rewritten on the next demo start.\n${stringify(config)}`,
  );
  return configFile;
}

/** Enrolls the connector with the relay on its first start, then starts it. */
async function startDemoConnector(configFile: string, relay: Relay, logger: Logger): Promise<Connector> {
  let ctx = await loadConnectorContext(configFile);
  if (!ctx.credential) {
    const token = await relay.createEnrollmentToken(DEMO_TENANT);
    await enrollFromConfig(ctx, token);
    ctx = await loadConnectorContext(configFile);
  }
  return startConnector(ctx, { logger: logger.child({ part: 'connector' }) });
}

/** Issues the demo agent's identity unless a live one with both files is there; returns its files. */
async function ensureDemoAgent(
  connector: Connector,
  connectorDir: string,
): Promise<{ certFile: string; keyFile: string }> {
  const agentDir = join(connectorDir, 'agents', DEMO_AGENT);
  const certFile = join(agentDir, `${DEMO_AGENT}.cert.pem`);
  const keyFile = join(agentDir, `${DEMO_AGENT}.key.pem`);
  const current = await connector.store.identities.getIdentity(DEMO_AGENT);
  if (!current || current.revokedAt !== null || !(await exists(certFile)) || !(await exists(keyFile))) {
    await issueAgentIdentity(connector.pki, connector.store, DEMO_AGENT, agentDir);
  }
  return { certFile, keyFile };
}

/** A console account for the person trying the demo: made once, its password kept 0600 in dataDir. */
async function ensureDemoConsoleAccount(connector: Connector, dataDir: string): Promise<string> {
  const passwordFile = join(dataDir, 'console-admin-password.txt');
  if (
    !(await connector.store.adminAccounts.getAdminAccount(DEMO_CONSOLE_USER)) ||
    !(await exists(passwordFile))
  ) {
    const password = randomBytes(12).toString('base64url');
    await connector.store.adminAccounts.putAdminAccount(
      { name: DEMO_CONSOLE_USER, passwordHash: await hashPassword(password), role: 'admin', revealPii: true },
      Date.now(),
    );
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  }
  return passwordFile;
}

export async function startDemo(options: DemoOptions): Promise<Demo> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const dataDir = resolve(options.dataDir);
  const dirs: DemoDirs = {
    dataDir,
    relayDir: join(dataDir, 'relay'),
    connectorDir: join(dataDir, 'connector'),
    erpDir: join(dataDir, 'erp'),
  };
  // The demo's root stays searchable (the sandboxed ERP reaches its own directory below it); the
  // connector's directory, with the keys, is private.
  await mkdir(dataDir, { recursive: true });
  await mkdir(dirs.connectorDir, { recursive: true, mode: 0o700 });
  await prepareSandboxWritableDir(dirs.erpDir, { traverseFrom: dataDir });

  const relay = await startDemoRelay(dirs, options.port, logger);
  let connector: Connector | undefined;
  try {
    await relay.addTenant(DEMO_TENANT);
    connector = await startDemoConnector(await writeDemoConnectorConfig(dirs, relay), relay, logger);
    const { certFile, keyFile } = await ensureDemoAgent(connector, dirs.connectorDir);
    await connector.whenTunnelUp(15_000);
    const passwordFile = await ensureDemoConsoleAccount(connector, dataDir);

    const info: DemoInfo = {
      mcpUrl: `https://${connector.tenantHost}:${relay.port}/mcp`,
      relay: { host: '127.0.0.1', port: relay.port },
      caFile: connector.pki.caFile,
      clientCertFile: certFile,
      clientKeyFile: keyFile,
      consoleUrl: connector.adminUrl,
      consoleUser: DEMO_CONSOLE_USER,
      consolePasswordFile: passwordFile,
      metricsUrl: `http://127.0.0.1:${relay.adminPort}/metrics`,
      dataDir,
      tenantHost: connector.tenantHost,
      agent: DEMO_AGENT,
      sandbox: {
        mode: 'preferred',
        upstreams: connector.catalog.status().map((u) => ({ name: u.name, sandboxed: u.sandboxed })),
        warning: DEMO_SANDBOX_WARNING,
      },
    };
    logger.warn({ upstreams: info.sandbox.upstreams }, DEMO_SANDBOX_WARNING);
    const started = connector;
    return {
      info,
      relay,
      connector: started,
      close: async () => {
        await started.close();
        await relay.close();
      },
    };
  } catch (err) {
    await connector?.close().catch(() => undefined);
    await relay.close().catch(() => undefined);
    throw err;
  }
}
