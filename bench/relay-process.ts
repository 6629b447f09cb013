/**
 * A relay process for the idle-session memory measure: what `airlock relay` does (identity and
 * SQLite store in `--data-dir`, same layout, so `airlock tenant add --data-dir` works on it), plus the
 * limits the relay config file does not expose yet (tunnels per connector, streams per tunnel, agent
 * connections), raised so that 10,000 idle agent connections fit through one connector.
 *
 * Usage: node dist/bench/relay-process.js --data-dir <dir> [--port 0] [--max-agents 12000]
 * Prints one JSON line `{ port, adminPort, caFile }` when ready; SIGTERM closes it.
 */
import { join } from 'node:path';
import { loadOrCreateRelayIdentity } from '../src/relay/relay-identity-files.js';
import { startRelay } from '../src/relay/relay-server.js';
import { openStore } from '../src/store/open-store.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const dataDir = flag('data-dir');
if (!dataDir) {
  process.stderr.write('usage: relay-process.js --data-dir <dir> [--port 0] [--max-agents 12000]\n');
  process.exit(2);
}
const maxAgents = Number(flag('max-agents') ?? 12_000);
const identity = await loadOrCreateRelayIdentity(dataDir, 'relay.localhost');
const store = await openStore({ url: `sqlite:${join(dataDir, 'relay.db')}` });
const relay = await startRelay({
  domain: 'localhost',
  host: '127.0.0.1',
  port: Number(flag('port') ?? 0),
  adminHost: '127.0.0.1',
  adminPort: 0,
  store,
  identity,
  maxAgentConnectionsPerTenant: maxAgents,
  maxConnections: maxAgents + 1000,
  // Every idle session of the bench comes from 127.0.0.1: one source, which the per-source limits
  // (256 connections, a quarter of a tenant's slots) would otherwise stop long before the counts measured.
  maxConnectionsPerSource: 0,
  maxTenantSharePerSource: 1,
  maxTunnelsPerConnector: 16,
  maxStreamsPerTunnel: 1000,
});
process.stdout.write(
  `${JSON.stringify({ port: relay.port, adminPort: relay.adminPort, caFile: join(dataDir, 'identity', 'ca.pem') })}\n`,
);
const stop = (): void => {
  void relay
    .close()
    .then(() => store.close())
    .finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
