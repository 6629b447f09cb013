/** The connector's live state as the console shows it. Must not contain secrets. */
export interface ConnectorStatus {
  tenant: string;
  tenantHost: string;
  tunnels: Array<{ slot: number; state: string; transport: string; since?: number; lastError?: string }>;
  upstreams: Array<{ name: string; state: string; restarts: number; lastError?: string }>;
  [key: string]: unknown;
}
