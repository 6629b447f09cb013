/** The connector's live state as the console shows it. Must not contain secrets. */
export interface ConnectorStatus {
  tenant: string;
  tenantHost: string;
  tunnels: Array<{ slot: number; state: string; transport: string; since?: number; lastError?: string }>;
  upstreams: Array<{
    name: string;
    state: string;
    restarts: number;
    lastError?: string;
    /** `stdio` or `http`; only stdio upstreams have a sandbox. */
    kind?: string;
    /** stdio: whether the running server is inside the sandbox (unknown until it was started). */
    sandboxed?: boolean;
    /** stdio: why it runs without a sandbox (mode `off`, or the reason none could be made). */
    unsandboxedReason?: string;
  }>;
  [key: string]: unknown;
}
