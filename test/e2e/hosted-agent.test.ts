/**
 * Hosted agents, end to end on loopback with real processes: `airlock relay` (a separate process),
 * Debian's Pebble (ACME CA) with its TLS-ALPN-01 validation port pointed at the relay's public port, a
 * DNS server answering the tenant name, an OIDC provider (`oidc-provider`), and a connector with
 * `tls.acme` and `agents.oauth`. The connector obtains its public certificate THROUGH the relay; an MCP
 * SDK client that trusts only Pebble's root (no tenant CA, no client certificate) discovers the OAuth
 * metadata, runs authorization code + PKCE (and DPoP) at the IdP and calls a tool as its OAuth subject,
 * under that subject's policy. The relay process never holds the certificate's key; renewal swaps the
 * certificate while the session stays open.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { Client, StreamableHTTPClientTransport, UnauthorizedError } from '@modelcontextprotocol/client';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { stringify } from 'yaml';
import { type Connector, startConnector } from '../../src/connector/connector.js';
import { loadConnectorContext } from '../../src/connector/connector-context.js';
import { enrollFromConfig } from '../../src/connector/enroll-connector.js';
import { issueAgentIdentity } from '../../src/identity/tenant-pki.js';
import { type OidcIdp, startOidcIdp } from '../fixtures/oidc-idp.js';
import { type Pebble, startPebble } from '../fixtures/pebble.js';
import { everythingUpstream } from './airlock-stack.js';
import { type Running, runCli, startCli } from './cli-process.js';
import { makeTempDir, pemLines, until } from './hosted-agent-helpers.js';
import { createHostedFetch, type HostedFetch } from './hosted-client-fetch.js';
import { HostedOAuthProvider } from './hosted-oauth-provider.js';
import { scanProcessMemory } from './process-memory.js';

const DOMAIN = 'tenants.airlock.test';
const HOST = `acme.${DOMAIN}`;
const SUBJECT = 'user-42';
const SCOPE = 'mcp:tools';

let dir: { path: string; remove(): Promise<void> };
let relay: Running;
let relayPort: number;
let pebble: Pebble;
let idp: OidcIdp;
let connector: Connector;
let root: string;
let resource: string;

function policy(issuer: string): string {
  return `version: 1
catalog: { mode: tofu }
identities:
  - subject: ${SUBJECT}
    issuer: ${issuer}
    roles: [echo-only]
  - name: agent-1
    roles: [echo-only]
roles:
  echo-only:
    tools: ["everything.echo"]
tools:
  - match: "**"
    tier: auto
`;
}

before(async () => {
  dir = await makeTempDir('airlock-hosted-');
  const relayDir = join(dir.path, 'relay');
  relay = await startCli([
    'relay',
    '--domain',
    DOMAIN,
    '--listen',
    '127.0.0.1:0',
    '--admin',
    '127.0.0.1:0',
    '--data-dir',
    relayDir,
  ]);
  relayPort = relay.ready.port as number;
  const token =
    (await runCli(['tenant', 'add', 'acme', '--data-dir', relayDir])).trim().split('\n').pop() ?? '';
  pebble = await startPebble({ tlsPort: relayPort });
  resource = `https://${HOST}:${relayPort}/mcp`;
  idp = await startOidcIdp({
    resources: [resource, `https://globex.${DOMAIN}:${relayPort}/mcp`],
    scope: SCOPE,
  });
  await writeFile(join(dir.path, 'pebble-api-ca.pem'), pebble.apiCaPem);
  await writeFile(join(dir.path, 'policy.yaml'), policy(idp.issuer));
  const configFile = join(dir.path, 'connector.yaml');
  await writeFile(
    configFile,
    stringify({
      dataDir: join(dir.path, 'connector'),
      relay: {
        url: `tls://relay.${DOMAIN}:${relayPort}`,
        connect: `127.0.0.1:${relayPort}`,
        caFile: join(relayDir, 'identity', 'ca.pem'),
        tunnels: 1,
      },
      admin: { listen: '127.0.0.1:0' },
      policy: { file: join(dir.path, 'policy.yaml') },
      tls: {
        acme: {
          directoryUrl: pebble.directoryUrl,
          directoryCaFile: 'pebble-api-ca.pem',
          checkIntervalMs: 86_400_000,
        },
      },
      agents: {
        oauth: {
          issuer: idp.issuer,
          jwksUri: idp.jwksUri,
          resource,
          scopesSupported: [SCOPE],
          requiredScopes: [SCOPE],
          dpop: { required: true },
        },
      },
      upstreams: { everything: everythingUpstream() },
    }),
  );
  await enrollFromConfig(await loadConnectorContext(configFile), token);
  connector = await startConnector(await loadConnectorContext(configFile));
  await connector.whenTunnelUp(10_000);
  await until(() => connector.acme?.certificate !== undefined, 60_000, 'no ACME certificate');
  root = await pebble.issuingRootPem();
});

after(async () => {
  await connector?.close();
  await relay?.kill('SIGTERM');
  await pebble?.close();
  await idp?.close();
  await dir?.remove();
});

function hostedFetch(clientCertificate?: { certPem: string; keyPem: string }): HostedFetch {
  return createHostedFetch({
    origin: `https://${HOST}:${relayPort}`,
    connectTo: { host: '127.0.0.1', port: relayPort },
    rootPem: root,
    ...(clientCertificate ? { clientCertificate } : {}),
  });
}

/** What a hosted assistant does when a user adds the connector URL: 401 → OAuth → reconnect. */
async function connectHosted(provider: HostedOAuthProvider, fetch: HostedFetch) {
  const first = new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider, fetch });
  await assert.rejects(new Client({ name: 'hosted', version: '1' }).connect(first), UnauthorizedError);
  const callback = provider.callback;
  assert.ok(callback, 'the SDK never sent the user to the IdP');
  await first.finishAuth(callback.code, callback.iss ?? undefined);
  const transport = new StreamableHTTPClientTransport(new URL(resource), { authProvider: provider, fetch });
  const client = new Client({ name: 'hosted', version: '1' });
  await client.connect(transport);
  return { client, transport };
}

/** A raw `tools/list` POST with the given Authorization header. */
function listToolsWith(authorization: string): RequestInit {
  return {
    method: 'POST',
    headers: {
      authorization,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  };
}

async function echo(client: Client, message: string): Promise<string> {
  const r = (await client.callTool({ name: 'everything.echo', arguments: { message } })) as {
    content: Array<{ text?: string }>;
  };
  return r.content[0]?.text ?? '';
}

test('the connector obtains a public certificate through the blind relay (TLS-ALPN-01); its key stays on the connector', async () => {
  const issued = connector.acme?.certificate;
  assert.ok(issued);
  const leaf = new X509Certificate(issued.certPem);
  assert.match(leaf.subjectAltName ?? '', new RegExp(`DNS:${HOST.replaceAll('.', '\\.')}`));
  assert.notEqual(leaf.issuer, new X509Certificate(connector.pki.caCertPem).subject, 'still the tenant CA');
  const keyFile = join(dir.path, 'connector', 'acme', 'tenant.key');
  assert.equal((await stat(keyFile)).mode & 0o077, 0);
  assert.equal(await readFile(keyFile, 'utf8'), issued.keyPem);
  // A client trusting only the public root reaches the tenant through the relay and sees this certificate.
  const f = hostedFetch();
  try {
    const res = await f(`https://${HOST}:${relayPort}/.well-known/oauth-protected-resource/mcp`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { resource: string }).resource, resource);
    assert.equal(f.serials.at(-1), leaf.serialNumber);
  } finally {
    await f.close();
  }
});

function probe(options: tls.ConnectionOptions): Promise<string> {
  return new Promise<string>((resolve) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port: relayPort,
      servername: HOST,
      rejectUnauthorized: false,
      ...options,
    });
    socket.once('secureConnect', () => {
      resolve(`handshake completed with ${socket.getPeerX509Certificate()?.subject ?? 'no certificate'}`);
      socket.destroy();
    });
    socket.once('error', (err) => resolve(`refused: ${err.message}`));
    socket.once('close', () => resolve('refused: closed'));
  });
}

test('attacker moves: acme-tls/1 with no challenge pending gets no certificate; TLS 1.2 stays refused after the swap', async () => {
  assert.match(await probe({ ALPNProtocols: ['acme-tls/1'] }), /^refused/);
  assert.match(await probe({ maxVersion: 'TLSv1.2' }), /^refused/);
  assert.match(await probe({ ALPNProtocols: ['http/1.1'] }), /^handshake completed/); // the control
});

test('a hosted client (public root only, no client certificate) runs OAuth code + PKCE + DPoP and calls a tool', async () => {
  const fetch = hostedFetch();
  const provider = await HostedOAuthProvider.withDpop(idp, SUBJECT);
  const { client } = await connectHosted(provider, fetch);
  try {
    const authorizationUrl = provider.authorizationUrls[0];
    assert.ok(authorizationUrl);
    assert.equal(authorizationUrl.origin, idp.issuer, 'the IdP was found from the RFC 9728 metadata');
    assert.equal(authorizationUrl.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(authorizationUrl.searchParams.get('resource'), resource);
    const token = provider.tokens()?.access_token ?? '';
    assert.equal(decodeProtectedHeader(token).typ, 'at+jwt');
    const claims = decodeJwt(token);
    assert.equal(claims.aud, resource);
    assert.equal(claims.sub, SUBJECT);
    assert.equal(claims.client_id, idp.clientId);
    assert.ok((claims.cnf as { jkt?: string } | undefined)?.jkt, 'the token is not DPoP-bound');
    assert.equal(await echo(client, 'hello from a hosted assistant'), 'Echo: hello from a hosted assistant');
  } finally {
    await client.close();
    await fetch.close();
  }
});

test('per-identity policy: the OAuth subject gets its role (echo allowed, get-sum refused and not listed)', async () => {
  const fetch = hostedFetch();
  const { client } = await connectHosted(await HostedOAuthProvider.withDpop(idp, SUBJECT), fetch);
  try {
    const { tools } = await client.listTools();
    assert.deepEqual(
      tools.map((t) => t.name),
      ['everything.echo'],
    );
    await assert.rejects(
      client.callTool({ name: 'everything.get-sum', arguments: { a: 1, b: 2 } }),
      /FORBIDDEN|not allowed/i,
    );
  } finally {
    await client.close();
    await fetch.close();
  }
  // Another user of the same IdP and client has no role here: authenticated, but may call nothing.
  const other = hostedFetch();
  const { client: stranger } = await connectHosted(await HostedOAuthProvider.withDpop(idp, 'user-99'), other);
  try {
    await assert.rejects(echo(stranger, 'no role'), /FORBIDDEN|not allowed|AIRLOCK_IDENTITY_UNKNOWN/i);
  } finally {
    await stranger.close();
    await other.close();
  }
});

test('attacker moves: no token, a token for another resource, a bearer copy of a DPoP token — all refused', async () => {
  const fetch = hostedFetch();
  try {
    const bare = await fetch(resource, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(bare.status, 401);
    assert.match(
      bare.headers.get('www-authenticate') ?? '',
      /resource_metadata="[^"]*oauth-protected-resource/,
    );
    // A token for globex's resource from the same IdP and client.
    const provider = await HostedOAuthProvider.withDpop(idp, SUBJECT);
    const foreign = await idp.tokenFor(`https://globex.${DOMAIN}:${relayPort}/mcp`, SUBJECT, SCOPE);
    assert.equal(decodeJwt(foreign).aud, `https://globex.${DOMAIN}:${relayPort}/mcp`);
    const wrongAudience = await fetch(resource, listToolsWith(`Bearer ${foreign}`));
    assert.equal(wrongAudience.status, 401);
    // A DPoP-bound token replayed as a plain bearer token (stolen from logs, say).
    const { client } = await connectHosted(provider, fetch);
    await client.close();
    const stolen = provider.tokens()?.access_token ?? '';
    const replay = await fetch(resource, listToolsWith(`Bearer ${stolen}`));
    assert.equal(replay.status, 401);
  } finally {
    await fetch.close();
  }
});

test('an agent with a tenant client certificate keeps working (public root for the server, tenant CA for the client)', async () => {
  const issued = await issueAgentIdentity(
    connector.pki,
    connector.store,
    'agent-1',
    join(dir.path, 'agents'),
  );
  const fetch = hostedFetch({
    certPem: await readFile(issued.certFile, 'utf8'),
    keyPem: await readFile(issued.keyFile, 'utf8'),
  });
  const client = new Client({ name: 'mtls', version: '1' });
  try {
    await client.connect(new StreamableHTTPClientTransport(new URL(resource), { fetch }));
    assert.equal(await echo(client, 'mtls'), 'Echo: mtls');
  } finally {
    await client.close();
    await fetch.close();
  }
});

test('renewal replaces the certificate while a session stays open: new handshakes see the new serial', async () => {
  const fetch = hostedFetch();
  const { client, transport } = await connectHosted(await HostedOAuthProvider.withDpop(idp, SUBJECT), fetch);
  try {
    const before = connector.acme?.certificate;
    assert.ok(before);
    const oldSerial = new X509Certificate(before.certPem).serialNumber;
    assert.equal(await echo(client, 'before'), 'Echo: before');
    assert.ok(
      fetch.serials.length > 0 && fetch.serials.every((s) => s === oldSerial),
      `${fetch.serials} vs ${oldSerial}`,
    );
    const session = transport.sessionId;
    const renewed = await connector.acme?.renew();
    assert.ok(renewed);
    const newSerial = new X509Certificate(renewed.certPem).serialNumber;
    assert.notEqual(newSerial, oldSerial);
    fetch.reconnect(); // the next request opens a new TLS connection
    assert.equal(await echo(client, 'after'), 'Echo: after');
    assert.equal(fetch.serials.at(-1), newSerial, 'the new handshake did not see the renewed certificate');
    assert.equal(transport.sessionId, session, 'the MCP session changed');
    // Connections made before the renewal were not dropped by it (the session's open stream among them).
    assert.ok(
      fetch.sockets.some((s) => s.serial === oldSerial && !s.socket.destroyed),
      'every connection with the old certificate was closed',
    );
  } finally {
    await client.close();
    await fetch.close();
  }
});

test('the relay process memory holds no byte of the ACME certificate key (and the scan finds what the relay does hold)', async () => {
  const keyPem = connector.acme?.certificate?.keyPem ?? '';
  const der = createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'der' });
  const raw = createPrivateKey(keyPem).export({ format: 'jwk' }).d ?? '';
  const secrets: Array<[string, Buffer]> = [
    ['ACME key (DER)', der],
    ['ACME key scalar', Buffer.from(raw, 'base64url')],
    ...pemLines(keyPem).map((line): [string, Buffer] => ['ACME key (PEM line)', line]),
  ];
  const accountKey = await readFile(join(dir.path, 'connector', 'acme', 'account.key'), 'utf8');
  secrets.push([
    'ACME account key (DER)',
    createPrivateKey(accountKey).export({ type: 'pkcs8', format: 'der' }),
  ]);
  for (const line of pemLines(accountKey)) secrets.push(['ACME account key (PEM line)', line]);
  const relayKey = await readFile(join(dir.path, 'relay', 'identity', 'server.key'), 'utf8');
  const controls: Array<[string, Buffer]> = [
    ['tenant host', Buffer.from(HOST)],
    ['relay server key (PEM line)', pemLines(relayKey)[0] ?? Buffer.alloc(0)],
  ];
  const pid = relay.child.pid;
  assert.ok(pid !== undefined);
  const needles = [...secrets, ...controls];
  const { counts, scanned } = await scanProcessMemory(
    pid,
    needles.map(([, b]) => b),
  );
  assert.ok(scanned > 10 * 1024 * 1024, `scanned only ${scanned} bytes`);
  needles.forEach(([name], i) => {
    if (i < secrets.length) assert.equal(counts[i], 0, `${name} found in the relay's memory`);
    else assert.ok((counts[i] ?? 0) > 0, `positive control "${name}" not found: the scan does not work`);
  });
});
