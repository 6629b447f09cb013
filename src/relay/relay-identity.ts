/**
 * The relay's own keys: a CA that connectors pin, the TLS certificate of the relay host (for the
 * enrollment API and the tunnel endpoints), and the connector CA that signs connector client
 * certificates at enrollment. Tenant keys are NOT here: they live on connectors only.
 */
import { type CertifiedKey, createCertificateAuthority, issueServerCertificate } from '../identity/pki.js';

export interface RelayIdentity {
  /** CA of the relay's TLS certificate; connectors pin its PEM (`relay.caPem`). */
  ca: CertifiedKey;
  /** TLS certificate + key for the relay host name. */
  server: CertifiedKey;
  /** CA that signs connector client certificates (enrollment) and verifies them (tunnels). */
  connectorCa: CertifiedKey;
}

/**
 * Makes a fresh self-signed relay identity for `relayHost` (demos, tests, first start).
 *
 * @example
 * const identity = await createRelayIdentity({ relayHost: 'relay.localhost' });
 * const relay = await startRelay({ domain: 'localhost', identity, store });
 */
export async function createRelayIdentity(opts: { relayHost: string }): Promise<RelayIdentity> {
  const ca = await createCertificateAuthority({ commonName: `Airlock relay CA (${opts.relayHost})` });
  const server = await issueServerCertificate(ca, { commonName: opts.relayHost, dnsNames: [opts.relayHost] });
  const connectorCa = await createCertificateAuthority({
    commonName: `Airlock connector CA (${opts.relayHost})`,
  });
  return { ca, server, connectorCa };
}
