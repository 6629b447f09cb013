/**
 * Connectors bound to the customer: the relay accepts a connector's tunnels only when the tenant's own
 * CA vouched for the connector's key. At enrollment the connector sends a binding certificate (issued
 * by the tenant CA for the CSR's key, URI SAN `airlock://connector-binding`) and the tenant CA
 * certificate. The tenant's first bound connector PINS that CA at the relay; every later connector must
 * present a binding chained to the pinned CA, so an enrollment token alone (the relay operator's, or a
 * leaked one) can no longer add a connector that receives the tenant's agent streams.
 *
 * Certificate checks use Node's `X509Certificate` (signature, issuer, validity, CA flag).
 *
 * @example
 * const binding = await checkConnectorBinding(store, 'acme', { tenantCaPem, bindingCertPem }, csrKeyFingerprint);
 * if (binding.bound) await store.relay.addConnector({ ...record, boundCaFingerprint: binding.caFingerprint });
 */
import { X509Certificate } from 'node:crypto';
import { certificateInfo, publicKeyFingerprint } from '../identity/pki.js';
import type { Store } from '../store/store.js';
import { CONNECTOR_BINDING_URI } from '../tunnel/enrollment-protocol.js';

export type BindingResult =
  | { bound: true; caFingerprint: string; pinnedNow: boolean }
  | { bound: false; reason: string; invalid: boolean };

export interface BindingEvidence {
  tenantCaPem?: string | undefined;
  bindingCertPem?: string | undefined;
}

/** SHA-256 (hex) of a certificate's DER. */
export function certificateFingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256.replaceAll(':', '').toLowerCase();
}

/** Checks `leafPem` against `caPem` now: CA flag, issuer, signature, validity, binding URI SAN. */
export function verifyBindingCertificate(
  caPem: string,
  leafPem: string,
  now = Date.now(),
): string | undefined {
  let ca: X509Certificate;
  let leaf: X509Certificate;
  try {
    ca = new X509Certificate(caPem);
    leaf = new X509Certificate(leafPem);
  } catch {
    return 'the tenant CA or the binding certificate is not a PEM certificate';
  }
  if (!ca.ca) return 'the tenant CA certificate is not a CA';
  if (!leaf.checkIssued(ca) || !leaf.verify(ca.publicKey))
    return 'the binding is not signed by the tenant CA';
  if (now < Date.parse(leaf.validFrom) || now > Date.parse(leaf.validTo))
    return 'the binding certificate is not valid now';
  if (!certificateInfo(leafPem).uris.includes(CONNECTOR_BINDING_URI)) {
    return `the binding certificate does not name ${CONNECTOR_BINDING_URI}`;
  }
  return undefined;
}

/**
 * Decides whether a connector enrolling for `tenant` with a key of fingerprint `keyFingerprint` is
 * bound, and pins the tenant CA when this is the first bound connector. `invalid`: evidence was sent
 * but is wrong (the enrollment is refused); otherwise an absent binding enrolls the connector unbound.
 */
export async function checkConnectorBinding(
  store: Store,
  tenant: string,
  evidence: BindingEvidence,
  keyFingerprint: string,
): Promise<BindingResult> {
  const { bindingCertPem, tenantCaPem } = evidence;
  if (bindingCertPem === undefined) return { bound: false, reason: 'no binding certificate', invalid: false };
  const pin = await store.relay.getTenantCaPin(tenant);
  const caPem = pin?.caCertPem ?? tenantCaPem;
  if (caPem === undefined)
    return { bound: false, reason: 'no tenant CA to check the binding against', invalid: true };
  if (pin && tenantCaPem !== undefined && safeFingerprint(tenantCaPem) !== pin.caFingerprint) {
    return {
      bound: false,
      reason: 'the tenant CA sent differs from the CA pinned for this tenant',
      invalid: true,
    };
  }
  const problem = verifyBindingCertificate(caPem, bindingCertPem);
  if (problem !== undefined) return { bound: false, reason: problem, invalid: true };
  if (publicKeyFingerprint(bindingCertPem) !== keyFingerprint) {
    return { bound: false, reason: 'the binding certificate is for another key than the CSR', invalid: true };
  }
  if (pin) return { bound: true, caFingerprint: pin.caFingerprint, pinnedNow: false };
  const wanted = certificateFingerprint(caPem);
  const inForce = await store.relay.pinTenantCa({
    tenant,
    caCertPem: caPem,
    caFingerprint: wanted,
    pinnedAt: Date.now(),
  });
  if (inForce.caFingerprint !== wanted) {
    return { bound: false, reason: 'another tenant CA was pinned meanwhile', invalid: true };
  }
  return { bound: true, caFingerprint: wanted, pinnedNow: true };
}

function safeFingerprint(pem: string): string | undefined {
  try {
    return certificateFingerprint(pem);
  } catch {
    return undefined;
  }
}
