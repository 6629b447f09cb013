/**
 * Starts a relay from its validated config file: store, identity on disk, listeners.
 *
 * @example
 * const relay = await startRelayFromConfig(await loadRelayConfig('relay.yaml'));
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { loadOrCreateAuditKey } from '../audit/audit-key.js';
import { loadYamlFile, parseYamlConfig } from '../config/load-yaml.js';
import { listenAddress } from '../net/listen-address.js';
import { openStore } from '../store/open-store.js';
import type { RelayConfig } from './config-schema.js';
import { relayConfigSchema } from './config-schema.js';
import { loadOrCreateRelayIdentity } from './relay-identity-files.js';
import { type Relay, startRelay } from './relay-server.js';
import { RELAY_CLOSED_EVENT } from './relay-shutdown.js';

export interface LoadedRelayConfig {
  config: RelayConfig;
  /** Directory relative paths are resolved against. */
  baseDir: string;
  dataDir: string;
  storeUrl: string;
}

export async function loadRelayConfig(file: string): Promise<LoadedRelayConfig> {
  const abs = resolve(file);
  return resolveRelayConfig(await loadYamlFile(abs, relayConfigSchema), dirname(abs));
}

/** Builds a relay config from plain values (e.g. CLI flags), validated by the same schema. */
export function relayConfigFromValues(
  values: Record<string, unknown>,
  baseDir = process.cwd(),
): LoadedRelayConfig {
  return resolveRelayConfig(
    parseYamlConfig(JSON.stringify(values), relayConfigSchema, '<command line>'),
    baseDir,
  );
}

function resolveRelayConfig(config: RelayConfig, baseDir: string): LoadedRelayConfig {
  const dataDir = isAbsolute(config.dataDir) ? config.dataDir : join(baseDir, config.dataDir);
  return { config, baseDir, dataDir, storeUrl: config.store ?? `sqlite:${join(dataDir, 'relay.db')}` };
}

export async function startRelayFromConfig(loaded: LoadedRelayConfig, logger?: Logger): Promise<Relay> {
  const { config, baseDir, dataDir } = loaded;
  const relayHost = `relay.${config.domain}`;
  const path = (p: string) => (isAbsolute(p) ? p : join(baseDir, p));
  const tls = config.tls
    ? {
        certPem: await readFile(path(config.tls.certFile), 'utf8'),
        keyPem: await readFile(path(config.tls.keyFile), 'utf8'),
      }
    : undefined;
  const identity = await loadOrCreateRelayIdentity(dataDir, relayHost, tls);
  const store = await openStore({ url: loaded.storeUrl });
  const listen = listenAddress(config.listen);
  const admin = listenAddress(config.admin.listen);
  try {
    const relay = await startRelay({
      domain: config.domain,
      host: listen.host,
      port: listen.port,
      adminHost: admin.host,
      adminPort: admin.port,
      ...(config.admin.hostnames ? { adminHostnames: config.admin.hostnames } : {}),
      store,
      identity,
      limits: config.limits,
      witnessKey: await loadOrCreateAuditKey(join(dataDir, 'identity', 'witness')),
      ...(config.cluster ? { cluster: config.cluster } : {}),
      ...(config.drainGraceMs !== undefined ? { drainGraceMs: config.drainGraceMs } : {}),
      ...(logger ? { logger } : {}),
    });
    // The store closes with the relay, also when a drain ends it (else a PostgreSQL pool keeps the
    // process alive until its idle timeout).
    const close = relay.close.bind(relay);
    let storeClosed: Promise<void> | undefined;
    const closeStore = () => {
      storeClosed ??= store.close();
      return storeClosed;
    };
    relay.events.once(RELAY_CLOSED_EVENT, () => void closeStore().catch(() => undefined));
    return Object.assign(relay, {
      close: async () => {
        await close();
        await closeStore();
      },
    });
  } catch (err) {
    await store.close();
    throw err;
  }
}
