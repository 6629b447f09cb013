/**
 * Test harness: a real relay and real connectors (one per tenant) wired exactly as in production —
 * enrollment with a one-time token, tenant PKI on disk, tunnels over TLS or WebSocket, SQLite stores —
 * with real upstream MCP servers over stdio. Nothing is mocked.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { TenantConnection } from '../../src/agent/index.js';
import type { UpstreamEntry } from '../../src/connector/config-schema.js';
import { type Connector, startConnector } from '../../src/connector/connector.js';
import { loadConnectorContext } from '../../src/connector/connector-context.js';
import { enrollFromConfig } from '../../src/connector/enroll-connector.js';
import { issueAgentIdentity } from '../../src/identity/tenant-pki.js';
import { createRelayIdentity, type RelayIdentity } from '../../src/relay/relay-identity.js';
import { type Relay, type RelayOptions, startRelay } from '../../src/relay/relay-server.js';
import { prepareSandboxWritableDir } from '../../src/sandbox/sandbox-writable-dir.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';

export const DOMAIN = 'localhost';

/** The sample ERP, sandboxed, with its database in `dbDir` (outside the connector's data dir). */
export function erpUpstream(dbDir: string): UpstreamEntry {
  const entry = fileURLToPath(new URL('../../samples/erp/server.js', import.meta.url));
  return {
    command: process.execPath,
    args: [entry, '--db', join(dbDir, 'erp.sqlite')],
    env: {},
    sandbox: { readWritePaths: [dbDir] },
  };
}

export function everythingUpstream(): UpstreamEntry {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('@modelcontextprotocol/server-everything/package.json');
  return { command: process.execPath, args: [join(dirname(pkg), 'dist', 'index.js'), 'stdio'], env: {} };
}

export interface TenantUnderTest {
  name: string;
  host: string;
  configFile: string;
  connector: Connector;
  /** The demo agent of this tenant. */
  agent: { certPem: string; keyPem: string; caPem: string };
  url: string;
  /** A TenantConnection for an agent of this tenant (default: the tenant's own agent). */
  connection(agent?: { certPem: string; keyPem: string }): TenantConnection;
  restart(): Promise<void>;
}

/**
 * The harness policy: the test agent may call everything, at once, and personal data passes
 * unchanged (tests of policy and PII use their own policy text).
 */
export const OPEN_POLICY = `version: 1
catalog: { mode: tofu }
identities:
  - name: agent-1
    roles: [all]
roles:
  all:
    tools: ["**"]
    resources: ["**"]
    prompts: ["**"]
tools:
  - match: "**"
    tier: auto
limits:
  rate: { perSecond: 1000, burst: 1000 }
  turnBudget: 100000
pii:
  actions: { EMAIL: allow, PHONE: allow, CARD: allow, IBAN: allow, SSN: allow, NINO: allow, IP: allow, NAME: allow, SECRET: allow, DNI: allow, NIE: allow, CODICE_FISCALE: allow, NIR: allow, BSN: allow, STEUER_ID: allow, ADDRESS: allow, POSTCODE: allow, DOB: allow }
`;

export interface StackOptions {
  /** Policy file text for every tenant (default {@link OPEN_POLICY}). */
  policy?: string;
  /** Extra connector config sections (e.g. `agents`), merged into every tenant's connector.yaml. */
  connector?: Record<string, unknown>;
  tenants?: string[];
  transport?: 'tls' | 'websocket';
  /** Upstreams for every tenant; default: ERP sample + server-everything. */
  upstreams?: (dir: string) => Record<string, UpstreamEntry>;
  relay?: Partial<RelayOptions>;
  /** Environment used for the connector's proxy settings (HTTPS_PROXY). */
  proxy?: string;
}

export interface Stack {
  dir: string;
  relay: Relay;
  relayStore: Store;
  relayIdentity: RelayIdentity;
  tenants: Map<string, TenantUnderTest>;
  tenant(name: string): TenantUnderTest;
  /** Stop the relay and start a new one on the same port with the same identity and store. */
  restartRelay(): Promise<void>;
  close(): Promise<void>;
}

/** What the parts of a stack share while it is built and run. */
interface StackState {
  dir: string;
  options: StackOptions;
  relayStore: Store;
  relayIdentity: RelayIdentity;
  relay: Relay;
}

function relayOptions(state: Omit<StackState, 'relay'>, port: number): RelayOptions {
  return {
    domain: DOMAIN,
    host: '127.0.0.1',
    port,
    adminHost: '127.0.0.1',
    adminPort: 0,
    store: state.relayStore,
    identity: state.relayIdentity,
    heartbeatIntervalMs: 500,
    heartbeatTimeoutMs: 1500,
    ...state.options.relay,
  };
}

/**
 * A relay (SQLite store, fresh identity) and one enrolled connector per tenant in `options.tenants`
 * (default `acme`), each with its tunnels up and an agent identity `agent-1`. On a failure everything
 * started so far is closed before the error is thrown.
 *
 * @example
 * const stack = await startStack({ tenants: ['acme', 'globex'] });
 * const client = await connectToTenant(stack.tenant('acme').connection(), { name: 'a', version: '1' });
 * await stack.close();
 */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-e2e-'));
  const relayStore = await openStore({ url: `sqlite:${join(dir, 'relay.db')}` });
  const relayIdentity = await createRelayIdentity({ relayHost: `relay.${DOMAIN}` });
  const base = { dir, options, relayStore, relayIdentity };
  const state: StackState = { ...base, relay: await startRelay(relayOptions(base, 0)) };
  await writeFile(join(dir, 'relay-ca.pem'), state.relay.caPem);
  const stack = stackOf(state);
  try {
    for (const name of options.tenants ?? ['acme']) stack.tenants.set(name, await addTenant(state, name));
  } catch (err) {
    await stack.close();
    throw err;
  }
  return stack;
}

function stackOf(state: StackState): Stack {
  const tenants = new Map<string, TenantUnderTest>();
  return {
    dir: state.dir,
    get relay() {
      return state.relay;
    },
    relayStore: state.relayStore,
    relayIdentity: state.relayIdentity,
    tenants,
    tenant(name) {
      const t = tenants.get(name);
      if (!t) throw new Error(`no tenant ${name}`);
      return t;
    },
    async restartRelay() {
      const port = state.relay.port;
      await state.relay.close();
      state.relay = await startRelay(relayOptions(state, port));
    },
    async close() {
      for (const t of tenants.values()) await t.connector.close().catch(() => undefined);
      await state.relay.close().catch(() => undefined);
      await state.relayStore.close();
      await rm(state.dir, { recursive: true, force: true });
    },
  };
}

/** Writes the tenant's policy and connector.yaml; returns the config file and the tenant's data dir. */
async function writeTenantConfig(
  state: StackState,
  name: string,
): Promise<{ configFile: string; tdir: string }> {
  const { dir, options, relay } = state;
  const tdir = join(dir, name);
  const configFile = join(dir, `${name}.yaml`);
  await prepareSandboxWritableDir(`${tdir}-erp`, { traverseFrom: dir });
  const policyFile = join(dir, `${name}-policy.yaml`);
  await writeFile(policyFile, options.policy ?? OPEN_POLICY);
  const scheme = options.transport === 'websocket' ? 'wss' : 'tls';
  const config = {
    dataDir: tdir,
    relay: {
      url: `${scheme}://relay.${DOMAIN}:${relay.port}`,
      // *.localhost does not resolve here: dial loopback (through the proxy when one is set).
      connect: `127.0.0.1:${relay.port}`,
      caFile: join(dir, 'relay-ca.pem'),
      tunnels: 2,
    },
    admin: { listen: '127.0.0.1:0' },
    policy: { file: policyFile },
    ...options.connector,
    upstreams: (options.upstreams ?? defaultUpstreams)(tdir),
  };
  await writeFile(configFile, stringify(config));
  return { configFile, tdir };
}

/** Adds tenant `name` at the relay, enrolls and starts its connector, issues `agent-1`. */
async function addTenant(state: StackState, name: string): Promise<TenantUnderTest> {
  await state.relay.addTenant(name);
  const { configFile, tdir } = await writeTenantConfig(state, name);
  await enrollFromConfig(
    await loadConnectorContext(configFile),
    await state.relay.createEnrollmentToken(name),
  );
  const { proxy } = state.options;
  const start = async () => {
    const ctx = await loadConnectorContext(configFile);
    const c = await startConnector(ctx, proxy ? { proxy } : {});
    await c.whenTunnelUp(10_000);
    return c;
  };
  let connector = await start();
  const issued = await issueAgentIdentity(connector.pki, connector.store, 'agent-1', join(tdir, 'agents'));
  const agent = {
    certPem: await readFile(issued.certFile, 'utf8'),
    keyPem: await readFile(issued.keyFile, 'utf8'),
    caPem: connector.pki.caCertPem,
  };
  const host = connector.tenantHost;
  return {
    name,
    host,
    configFile,
    get connector() {
      return connector;
    },
    agent,
    get url() {
      return `https://${host}:${state.relay.port}/mcp`;
    },
    connection(who = agent) {
      return {
        url: `https://${host}:${state.relay.port}/mcp`,
        caPem: agent.caPem,
        certPem: who.certPem,
        keyPem: who.keyPem,
        connectTo: { host: '127.0.0.1', port: state.relay.port },
      };
    },
    async restart() {
      await connector.close();
      connector = await start();
    },
  };
}

function defaultUpstreams(dir: string): Record<string, UpstreamEntry> {
  return { erp: erpUpstream(`${dir}-erp`), everything: everythingUpstream() };
}
