/**
 * Resolves what every connector command needs from its config file: the validated config, the
 * data directory (relative paths are relative to the config file), the store URL, the enrollment
 * credential if any, and the tenant hostname.
 */
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { loadYamlFile } from '../config/load-yaml.js';
import { AirlockError } from '../errors/airlock-error.js';
import { type ConnectorConfig, connectorConfigSchema } from './config-schema.js';
import { type ConnectorCredential, loadCredential } from './credential-files.js';

export interface ConnectorContext {
  configFile: string;
  config: ConnectorConfig;
  dataDir: string;
  storeUrl: string;
  credential: ConnectorCredential | undefined;
  /** Known once enrolled (or from `tenantHost` in a relay-less config). See {@link requireTenantHost}. */
  tenantHost: string | undefined;
  /** Resolve a path from the config file the way the connector does. */
  resolvePath(p: string): string;
}

export async function loadConnectorContext(configFile: string): Promise<ConnectorContext> {
  const file = resolve(configFile);
  const config = await loadYamlFile(file, connectorConfigSchema);
  const base = dirname(file);
  const resolvePath = (p: string) => (isAbsolute(p) ? p : join(base, p));
  const dataDir = resolvePath(config.dataDir);
  const storeUrl = config.store ?? `sqlite:${join(dataDir, 'airlock.db')}`;
  const credential = await loadCredential(dataDir);
  const tenantHost = credential?.tenantHost ?? config.tenantHost;
  return { configFile: file, config, dataDir, storeUrl, credential, tenantHost, resolvePath };
}

/** The tenant hostname, or a clear error telling the operator how to get one. */
export function requireTenantHost(ctx: ConnectorContext): string {
  if (ctx.tenantHost) return ctx.tenantHost;
  throw new AirlockError(
    'AIRLOCK_CONNECTOR_NOT_ENROLLED',
    ctx.config.relay
      ? `this connector has not enrolled with its relay yet: run "airlock connector enroll --config ${ctx.configFile} --token <token>"`
      : `no relay and no "tenantHost" in ${ctx.configFile}: set tenantHost to the hostname agents use`,
  );
}
