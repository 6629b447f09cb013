/**
 * Enrolls a connector with a relay: generates the connector key HERE (it never leaves this
 * machine), sends a CSR with the single-use token to `POST /v1/enroll` on the relay host over
 * HTTPS (relay CA pinned), and returns the client certificate the relay issued. With
 * `auditPublicKeyPem` the relay also registers the connector's audit key with its audit witness.
 *
 * @example
 * const enrolled = await enrollConnector({ relayUrl: 'tls://relay.example.com:443', relayCaPem, token });
 * // save enrolled.keyPem / enrolled.certPem, then start a TunnelSupervisor with them
 */
import { createPublicKey } from 'node:crypto';
import https from 'node:https';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { EnrollmentError } from '../errors/airlock-error.js';
import {
  type CertifiedKey,
  createCsr,
  generateKeyPair,
  issueFromCsr,
  type KeyPairPem,
} from '../identity/pki.js';
import {
  CONNECTOR_BINDING_URI,
  EnrollCodes,
  type EnrollResponse,
  enrollResponseSchema,
  errorBodySchema,
} from '../tunnel/enrollment-protocol.js';
import { ENROLL_PATH } from '../tunnel/protocol.js';
import { resolveProxy } from '../tunnel/proxy-connect.js';
import { parseRelayUrl } from '../tunnel/tunnel-client.js';

/** Validity of a connector binding certificate: it is checked once, at enrollment. */
export const DEFAULT_BINDING_VALID_DAYS = 7;

/**
 * The customer's consent to a connector: the connector's private key (absent when the binding was
 * made for a CSR from the new host), a certificate for that key issued by the tenant CA with the URI
 * SAN `airlock://connector-binding`, and the tenant CA certificate.
 */
export interface ConnectorBinding {
  keyPem?: string;
  certPem: string;
  tenantCaPem: string;
}

/**
 * Issues a binding with the tenant CA: for `csrPem` (a key made on the new connector's host) or, without
 * it, for a new key made here and returned in the binding. The relay accepts a connector's tunnels only
 * with such a binding (the first one pins the tenant CA).
 *
 * @example
 * const binding = await issueConnectorBinding({ keyPem: caKeyPem, certPem: caCertPem });
 * await enrollConnector({ relayUrl, relayCaPem, token, binding });
 */
export async function issueConnectorBinding(
  tenantCa: CertifiedKey,
  csrPem?: string,
): Promise<ConnectorBinding> {
  let keys: KeyPairPem | undefined;
  let csr = csrPem;
  if (csr === undefined) {
    keys = await generateKeyPair();
    csr = await createCsr(keys, 'airlock-connector');
  }
  const issued = await issueFromCsr(tenantCa, csr, {
    commonName: 'airlock-connector-binding',
    uris: [CONNECTOR_BINDING_URI],
    validDays: DEFAULT_BINDING_VALID_DAYS,
  });
  return {
    ...(keys ? { keyPem: keys.privateKeyPem } : {}),
    certPem: issued.certPem,
    tenantCaPem: tenantCa.certPem,
  };
}

/** The key pair of a binding's private key, or a new key when the binding has none. */
async function connectorKeys(binding: ConnectorBinding | undefined): Promise<KeyPairPem> {
  if (binding?.keyPem === undefined) return generateKeyPair();
  const publicKeyPem = createPublicKey(binding.keyPem).export({ type: 'spki', format: 'pem' }).toString();
  return { privateKeyPem: binding.keyPem, publicKeyPem };
}

/** Time for the whole enrollment request. */
export const DEFAULT_ENROLL_TIMEOUT_MS = 15_000;
/** Largest response accepted from the relay. */
const MAX_RESPONSE_BYTES = 64 * 1024;

export interface EnrollOptions {
  /** `tls://`, `wss://` or `https://` URL of the relay host. */
  relayUrl: string;
  /** PEM of the relay CA to pin; omit for a publicly trusted relay. */
  relayCaPem?: string;
  token: string;
  /** The connector's audit public key (SPKI PEM), registered with the relay's audit witness. */
  auditPublicKeyPem?: string;
  /** Dial this address instead of the relay host (SNI and certificate check stay the relay host). */
  connectTo?: { host: string; port: number };
  proxy?: string | false;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /**
   * The tenant's consent ({@link issueConnectorBinding}); its key becomes the connector key. Without
   * it the relay enrolls the connector UNBOUND and refuses its tunnels (`bound: false`).
   */
  binding?: ConnectorBinding;
}

export interface EnrolledConnector extends EnrollResponse {
  keyPem: string;
}

const CERT_VERIFY = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ALTNAME/;

/**
 * Enrolls and returns `{ tenant, connectorId, tenantHost, keyPem, certPem, bound }`.
 * Throws `EnrollmentError` with `AIRLOCK_ENROLL_TOKEN_USED` / `_EXPIRED` / `_UNKNOWN`, `_BINDING_INVALID`,
 * `AIRLOCK_ENROLL_RELAY_UNREACHABLE` (retryable), `AIRLOCK_ENROLL_RELAY_UNTRUSTED`, ...
 */
export async function enrollConnector(options: EnrollOptions): Promise<EnrolledConnector> {
  const address = parseRelayUrl(options.relayUrl.replace(/^https:/, 'wss:'));
  const dial = options.connectTo ?? { host: address.host, port: address.port };
  const keys = await connectorKeys(options.binding);
  const csr = await createCsr(keys, 'airlock-connector');
  const binding = options.binding;
  const body = JSON.stringify({
    token: options.token,
    csr,
    ...(options.auditPublicKeyPem ? { auditPublicKeyPem: options.auditPublicKeyPem } : {}),
    ...(binding ? { bindingCertPem: binding.certPem, tenantCaPem: binding.tenantCaPem } : {}),
  });
  const relayName = `${address.host}:${address.port}`;

  const { status, text } = await postEnrollment({ dial, servername: address.host, relayName, body, options });

  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (status !== 200) {
    const error = errorBodySchema.safeParse(json);
    if (error.success) throw new EnrollmentError(error.data.error.code, error.data.error.message);
    throw new EnrollmentError(EnrollCodes.BAD_RESPONSE, `relay ${relayName} answered HTTP ${status}`, {
      retryable: status >= 500,
    });
  }
  const parsed = enrollResponseSchema.safeParse(json);
  if (!parsed.success) {
    throw new EnrollmentError(
      EnrollCodes.BAD_RESPONSE,
      `relay ${relayName} sent a malformed enrollment answer`,
    );
  }
  return { ...parsed.data, keyPem: keys.privateKeyPem };
}

interface EnrollmentPost {
  dial: { host: string; port: number };
  servername: string;
  relayName: string;
  body: string;
  options: EnrollOptions;
}

/** `POST /v1/enroll` on the relay host: status and body text, or an `EnrollmentError`. */
function postEnrollment(p: EnrollmentPost): Promise<{ status: number; text: string }> {
  const { dial, relayName, body, options } = p;
  const proxy = resolveProxy({ host: dial.host, port: dial.port, proxy: options.proxy, env: options.env });
  const timeoutMs = options.timeoutMs ?? DEFAULT_ENROLL_TIMEOUT_MS;
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = https.request({
      host: dial.host,
      port: dial.port,
      method: 'POST',
      path: ENROLL_PATH,
      servername: p.servername,
      ca: options.relayCaPem,
      agent: proxy ? new HttpsProxyAgent(proxy) : false,
      headers: {
        host: relayName,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      },
      timeout: timeoutMs,
    });
    req.on('timeout', () =>
      req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code && CERT_VERIFY.test(err.code)) {
        reject(
          new EnrollmentError(
            EnrollCodes.RELAY_UNTRUSTED,
            `relay ${relayName} presented a certificate the pinned relay CA does not vouch for (${err.code})`,
            { cause: err },
          ),
        );
      } else {
        reject(
          new EnrollmentError(
            EnrollCodes.RELAY_UNREACHABLE,
            `relay ${relayName} unreachable: ${err.message}`,
            {
              cause: err,
              retryable: true,
            },
          ),
        );
      }
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        if (text.length > MAX_RESPONSE_BYTES) req.destroy(new Error('response too large'));
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', (err) => req.destroy(err));
    });
    req.end(body);
  });
}
