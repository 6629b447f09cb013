/**
 * Authenticates a connector by its TLS client certificate: issued by the relay's connector CA
 * (checked by OpenSSL through the TLS server's `ca`), naming `airlock://connector/<tenant>/<id>`,
 * enrolled in the store with the same public key, not revoked, and bound to the tenant's pinned CA
 * (see connector-binding.ts).
 */
import type { TLSSocket } from 'node:tls';
import { certificateInfo, publicKeyFingerprint } from '../identity/pki.js';
import type { Store } from '../store/store.js';
import { parseConnectorUri, TunnelCodes, type TunnelRejection } from '../tunnel/protocol.js';

export type ConnectorAuthResult =
  | { ok: true; tenant: string; connectorId: string }
  | { ok: false; rejection: TunnelRejection };

function derToPem(der: Buffer): string {
  const body = der.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN CERTIFICATE-----\n${body}${body.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`;
}

/**
 * Checks the client certificate on `socket` against the store.
 *
 * @example
 * const auth = await authenticateConnector(tlsSocket, store);
 * if (!auth.ok) reject(auth.rejection);
 */
export async function authenticateConnector(socket: TLSSocket, store: Store): Promise<ConnectorAuthResult> {
  const peer = socket.getPeerCertificate();
  if (!peer?.raw) {
    return {
      ok: false,
      rejection: { code: TunnelCodes.CERT_MISSING, message: 'a connector client certificate is required' },
    };
  }
  if (!socket.authorized) {
    return {
      ok: false,
      rejection: {
        code: TunnelCodes.CERT_REJECTED,
        message: `client certificate not accepted (${String(socket.authorizationError)}); enroll this connector again`,
      },
    };
  }
  const pem = derToPem(peer.raw);
  let uris: string[];
  try {
    uris = certificateInfo(pem).uris;
  } catch {
    return {
      ok: false,
      rejection: { code: TunnelCodes.CERT_REJECTED, message: 'unreadable client certificate' },
    };
  }
  const names = uris.map(parseConnectorUri).filter((n) => n !== undefined);
  const name = names[0];
  if (!name || names.length !== 1) {
    return {
      ok: false,
      rejection: { code: TunnelCodes.CERT_REJECTED, message: 'client certificate names no connector' },
    };
  }
  const record = await store.relay.getConnector(name.connectorId);
  if (!record || record.tenant !== name.tenant || record.keyFingerprint !== publicKeyFingerprint(pem)) {
    return {
      ok: false,
      rejection: {
        code: TunnelCodes.CONNECTOR_UNKNOWN,
        message: `connector ${name.connectorId} is not enrolled`,
      },
    };
  }
  if (!(await store.relay.getTenant(name.tenant))) {
    return {
      ok: false,
      rejection: { code: TunnelCodes.CONNECTOR_UNKNOWN, message: `tenant ${name.tenant} does not exist` },
    };
  }
  if (record.revokedAt !== null) {
    return {
      ok: false,
      rejection: {
        code: TunnelCodes.CONNECTOR_REVOKED,
        message: `connector ${name.connectorId} was revoked`,
      },
    };
  }
  const pin = await store.relay.getTenantCaPin(name.tenant);
  if (record.boundCaFingerprint === null || pin?.caFingerprint !== record.boundCaFingerprint) {
    return {
      ok: false,
      rejection: {
        code: TunnelCodes.CONNECTOR_UNBOUND,
        message: `connector ${name.connectorId} is not bound to tenant ${name.tenant}'s CA; enroll it again with a binding from "airlock connector add" on an existing connector`,
      },
    };
  }
  return { ok: true, tenant: name.tenant, connectorId: name.connectorId };
}
