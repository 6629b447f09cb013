/**
 * What an agent needs to reach one tenant through Airlock: the tenant URL, the tenant CA to pin, and
 * optionally a client certificate. Plain data; load it from files with `loadTenantConnection`.
 */
export interface TenantConnection {
  /** The tenant's MCP endpoint, e.g. `https://acme.relay.example/mcp`. Must be https. */
  url: string;
  /** PEM of the tenant CA. The server certificate must chain to it; the system roots are not used. */
  caPem: string;
  /** PEM client certificate (issued by the tenant CA) for mutual TLS. Needs `keyPem`. */
  certPem?: string;
  /** PEM private key of `certPem`. */
  keyPem?: string;
  /**
   * Where to open the TCP connection instead of the URL's host and port (a relay address, a local
   * test port). SNI, the `Host` header and the certificate hostname check still use the URL.
   */
  connectTo?: { host: string; port: number };
}
