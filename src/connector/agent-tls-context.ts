/**
 * The tenant endpoint's TLS context: its certificate (the tenant PKI's, or a publicly trusted one from
 * ACME for hosted agents), the tenant CA that client certificates must chain to, and TLS 1.3 only.
 * Used at start and whenever the certificate is replaced (`AgentEndpoint.setCertificate`), so that a
 * renewed certificate can never loosen the version or drop the client-certificate CA.
 *
 * @example
 * server.setSecureContext(agentSecureContext({ keyPem, certPem, caPem }));
 */
import type { SecureContextOptions } from 'node:tls';
import { AGENT_TLS_MIN_VERSION } from './agent-endpoint-limits.js';

export interface AgentTlsMaterial {
  keyPem: string;
  /** Leaf first, then any chain. */
  certPem: string;
  /** Tenant CA: the only issuer accepted for client certificates. */
  caPem: string;
}

/** TLS 1.3 only: under 1.2 the agent's client certificate crosses the relay in clear. */
export function agentSecureContext(tls: AgentTlsMaterial): SecureContextOptions {
  return { key: tls.keyPem, cert: tls.certPem, ca: tls.caPem, minVersion: AGENT_TLS_MIN_VERSION };
}
