/**
 * Client certificate → agent identity, for the connector's TLS termination. The peer certificate must
 * chain to the tenant CA (`socket.authorized`, verified by TLS against the tenant CA only) and its serial
 * must map to a non-revoked identity in the store; checked on every HTTP request, so a revocation takes
 * effect on the next one.
 */
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { GatewayIdentity } from '../gateway/gateway-context.js';
import type { IdentityLookup } from '../gateway/stages/authenticate-stage.js';
import { certificateInfo } from '../identity/pki.js';

/** What the TLS layer says about the peer certificate (computed once per connection). */
export interface PeerCertificate {
  /** Whether the peer presented any certificate. */
  present: boolean;
  /** Whether it chains to the tenant CA (and is within its validity). */
  trusted: boolean;
  /** OpenSSL's reason when not trusted, e.g. `UNABLE_TO_VERIFY_LEAF_SIGNATURE`. */
  verifyError?: string;
  /** Lowercase hex serial (when present). */
  serial?: string;
  uris?: string[];
}

/** Why a request was refused. */
export type PeerRefusalReason =
  | 'AIRLOCK_IDENTITY_NO_CERT'
  | 'AIRLOCK_IDENTITY_FOREIGN_CERT'
  | 'AIRLOCK_IDENTITY_UNKNOWN'
  | 'AIRLOCK_IDENTITY_REVOKED'
  | 'AIRLOCK_IDENTITY_EXPIRED'
  | 'AIRLOCK_IDENTITY_UNVERIFIABLE';

export type PeerIdentityResult =
  | { ok: true; identity: GatewayIdentity }
  | { ok: false; reason: PeerRefusalReason; message: string };

/**
 * Most parsed client certificates remembered, keyed by their whole DER encoding: an agent that opens a
 * new connection with the same certificate is not parsed again (parsing was about a quarter of the
 * connector's CPU for a new agent connection). Only the parse is remembered; whether the certificate
 * chains to the tenant CA is TLS's verdict on each connection, and the identity is looked up per request.
 */
export const PEER_CERTIFICATE_CACHE_SIZE = 1024;

type ParsedCertificate = { serial: string; uris: string[] } | 'unparseable';
const parsedCertificates = new Map<string, ParsedCertificate>();

/** The serial and URIs of a DER certificate, parsed once per distinct certificate (least recently used out). */
function parsedCertificate(der: Buffer): ParsedCertificate {
  const key = der.toString('base64');
  const known = parsedCertificates.get(key);
  if (known !== undefined) {
    parsedCertificates.delete(key);
    parsedCertificates.set(key, known);
    return known;
  }
  let parsed: ParsedCertificate;
  try {
    const info = certificateInfo(new X509Certificate(der).toString());
    parsed = { serial: info.serial, uris: info.uris };
  } catch {
    parsed = 'unparseable';
  }
  parsedCertificates.set(key, parsed);
  if (parsedCertificates.size > PEER_CERTIFICATE_CACHE_SIZE) {
    const oldest = parsedCertificates.keys().next().value;
    if (oldest !== undefined) parsedCertificates.delete(oldest);
  }
  return parsed;
}

/** Reads the peer certificate of a server-side TLS socket. */
export function readPeerCertificate(socket: TLSSocket): PeerCertificate {
  const cert = socket.getPeerCertificate(false);
  if (!cert?.raw || Object.keys(cert).length === 0) return { present: false, trusted: false };
  const trusted = socket.authorized === true;
  const verifyError = socket.authorizationError ? String(socket.authorizationError) : undefined;
  const parsed = parsedCertificate(cert.raw);
  if (parsed === 'unparseable') {
    return { present: true, trusted: false, verifyError: verifyError ?? 'unparseable certificate' };
  }
  return { present: true, trusted, verifyError, serial: parsed.serial, uris: [...parsed.uris] };
}

/**
 * Resolves the identity of a request's peer certificate against the store.
 *
 * @example
 * const result = await resolvePeerIdentity(readPeerCertificate(socket), store.identities);
 * if (!result.ok) refuse(401, result.reason);
 */
export async function resolvePeerIdentity(
  peer: PeerCertificate,
  identities: IdentityLookup,
  now: number = Date.now(),
): Promise<PeerIdentityResult> {
  if (!peer.present) {
    return {
      ok: false,
      reason: 'AIRLOCK_IDENTITY_NO_CERT',
      message: 'A client certificate issued by the tenant CA is required',
    };
  }
  if (!peer.trusted || !peer.serial) {
    return {
      ok: false,
      reason: 'AIRLOCK_IDENTITY_FOREIGN_CERT',
      message: `The client certificate was not issued by this tenant's CA${peer.verifyError ? ` (${peer.verifyError})` : ''}`,
    };
  }
  let record: Awaited<ReturnType<IdentityLookup['getIdentityBySerial']>>;
  try {
    record = await identities.getIdentityBySerial(peer.serial);
  } catch {
    return {
      ok: false,
      reason: 'AIRLOCK_IDENTITY_UNVERIFIABLE',
      message: 'The identity could not be verified right now',
    };
  }
  if (!record) {
    return {
      ok: false,
      reason: 'AIRLOCK_IDENTITY_UNKNOWN',
      message: 'The client certificate does not belong to a known identity',
    };
  }
  if (record.revokedAt !== null) {
    return {
      ok: false,
      reason: 'AIRLOCK_IDENTITY_REVOKED',
      message: `Identity '${record.name}' has been revoked`,
    };
  }
  if (record.notAfter <= now) {
    return {
      ok: false,
      reason: 'AIRLOCK_IDENTITY_EXPIRED',
      message: `The certificate of identity '${record.name}' has expired`,
    };
  }
  return {
    ok: true,
    identity: {
      name: record.name,
      spiffeId: record.spiffeId,
      certSerial: peer.serial,
      authenticatedBy: 'mtls',
    },
  };
}
