/**
 * The building blocks of `airlock doctor`: each step checks one thing on real sockets (DNS, TCP, TLS with
 * a pinned CA, a certificate's validity, the clock against a server's `Date`) and says in one line what is
 * wrong and what to do. Used for agents (`diagnoseTenant`) and connectors (the CLI's connector doctor).
 *
 * @example
 * const step = await resolveStep('acme.relay.example');
 * // { name: 'resolve', status: 'ok', detail: 'acme.relay.example → 203.0.113.7' }
 */

import { X509Certificate } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { request } from 'node:https';
import { isIP, connect as tcpConnect } from 'node:net';
import { checkServerIdentity, type PeerCertificate, connect as tlsConnect } from 'node:tls';
import type { TenantConnection } from './tenant-connection.js';
import { TenantFailureError, tenantFailure } from './tenant-failure.js';

/** Time each network step may take. */
export const DEFAULT_DOCTOR_STEP_TIMEOUT_MS = 5_000;
/** Clock difference beyond which certificates and tokens start failing (same as the identity checks). */
export const DEFAULT_DOCTOR_MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;
/** Warn when a certificate expires within this many days. */
export const DEFAULT_DOCTOR_EXPIRY_WARNING_DAYS = 14;

export type DoctorStatus = 'ok' | 'warn' | 'fail' | 'skip';

/** One line of a diagnosis. */
export interface DoctorStep {
  name: string;
  status: DoctorStatus;
  /** What was found (ok) or what is wrong (warn / fail). */
  detail: string;
  /** Stable code of the failure, e.g. `AIRLOCK_AGENT_CA_MISMATCH`. */
  code?: string;
  /** What to do about it. */
  hint?: string;
}

/** Where a TLS probe goes and what it presents. */
export interface TlsTarget {
  /** TCP destination. */
  host: string;
  port: number;
  /** SNI and the name the certificate must carry. */
  servername: string;
  caPem: string;
  certPem?: string;
  keyPem?: string;
  /** Oldest TLS version to accept (agents speak only TLS 1.3 to tenants). Default Node's. */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
}

/** A failed step from any error, classified like the agent library does. */
export function failedStep(name: string, err: unknown, target: TenantConnection): DoctorStep {
  const failure = tenantFailure(err, target);
  if (failure instanceof TenantFailureError) {
    return { name, status: 'fail', detail: failure.message, code: failure.code, hint: failure.hint };
  }
  const code = (failure as { code?: unknown }).code;
  return { name, status: 'fail', detail: failure.message, ...(typeof code === 'string' ? { code } : {}) };
}

/** Pretends the probe target is a tenant URL, so failures are classified with the agent's codes. */
export function asConnection(t: TlsTarget): TenantConnection {
  return {
    url: `https://${t.servername}:${t.port}/`,
    caPem: t.caPem,
    connectTo: { host: t.host, port: t.port },
  };
}

export async function resolveStep(
  host: string,
  timeoutMs = DEFAULT_DOCTOR_STEP_TIMEOUT_MS,
): Promise<DoctorStep> {
  if (isIP(host) !== 0)
    return { name: 'resolve', status: 'ok', detail: `${host} (an address, nothing to resolve)` };
  try {
    const addresses = await Promise.race([
      lookup(host, { all: true }),
      new Promise<never>((_, reject) =>
        setTimeout(
          () => reject(Object.assign(new Error('DNS timeout'), { code: 'EAI_AGAIN' })),
          timeoutMs,
        ).unref(),
      ),
    ]);
    return {
      name: 'resolve',
      status: 'ok',
      detail: `${host} → ${addresses.map((a) => a.address).join(', ')}`,
    };
  } catch (err) {
    return failedStep('resolve', err, { url: `https://${host}/`, caPem: '' });
  }
}

export function tcpStep(
  host: string,
  port: number,
  timeoutMs = DEFAULT_DOCTOR_STEP_TIMEOUT_MS,
): Promise<DoctorStep> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port, timeout: timeoutMs });
    const done = (step: DoctorStep) => {
      socket.destroy();
      resolve(step);
    };
    socket.once('connect', () => done({ name: 'connect', status: 'ok', detail: `TCP ${host}:${port} open` }));
    socket.once('timeout', () =>
      done(
        failedStep('connect', Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }), {
          url: `https://${host}:${port}/`,
          caPem: '',
        }),
      ),
    );
    socket.once('error', (err) =>
      done(failedStep('connect', err, { url: `https://${host}:${port}/`, caPem: '' })),
    );
  });
}

/** TLS handshake with the pinned CA; resolves with the peer certificate or the failed step. */
export function tlsStep(
  t: TlsTarget,
  timeoutMs = DEFAULT_DOCTOR_STEP_TIMEOUT_MS,
): Promise<{ step: DoctorStep; peer?: PeerCertificate }> {
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host: t.host,
      port: t.port,
      ...(isIP(t.servername) === 0 ? { servername: t.servername } : {}),
      ca: t.caPem,
      ...(t.certPem && t.keyPem ? { cert: t.certPem, key: t.keyPem } : {}),
      rejectUnauthorized: true,
      ...(t.minVersion ? { minVersion: t.minVersion } : {}),
      checkServerIdentity: (_host, cert) => checkServerIdentity(t.servername, cert),
      timeout: timeoutMs,
    });
    const done = (result: { step: DoctorStep; peer?: PeerCertificate }) => {
      socket.destroy();
      resolve(result);
    };
    socket.once('secureConnect', () => {
      const peer = socket.getPeerCertificate();
      const detail = `${socket.getProtocol() ?? 'TLS'} with ${t.servername}; its certificate chains to the pinned CA (valid until ${new Date(peer.valid_to).toISOString().slice(0, 10)})`;
      done({ step: { name: 'tls', status: 'ok', detail }, peer });
    });
    socket.once('timeout', () =>
      done({
        step: failedStep('tls', Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }), asConnection(t)),
      }),
    );
    socket.once('error', (err) => done({ step: failedStep('tls', err, asConnection(t)) }));
  });
}

/** Checks a certificate's validity window (and, with `caPem`, that the CA issued it). */
export function certificateStep(
  name: string,
  certPem: string,
  opts: { caPem?: string; now?: number; expectUri?: RegExp; whose?: string } = {},
): DoctorStep {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    return {
      name,
      status: 'fail',
      detail: `not a PEM certificate: ${(err as Error).message}`,
      code: 'AIRLOCK_DOCTOR_CERT_UNREADABLE',
      hint: 'point to the certificate file (PEM), not the key',
    };
  }
  const now = opts.now ?? Date.now();
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  const whose = opts.whose ?? 'the certificate';
  if (now < from) {
    return {
      name,
      status: 'fail',
      detail: `${whose} is not valid before ${new Date(from).toISOString()}`,
      code: 'AIRLOCK_DOCTOR_CERT_NOT_YET_VALID',
      hint: "check this machine's clock",
    };
  }
  if (now > to) {
    return {
      name,
      status: 'fail',
      detail: `${whose} expired on ${new Date(to).toISOString()}`,
      code: 'AIRLOCK_DOCTOR_CERT_EXPIRED',
      hint: 'issue a new one ("airlock identity issue" for agents, re-enroll for connectors)',
    };
  }
  if (opts.caPem) {
    const ca = new X509Certificate(opts.caPem);
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
      return {
        name,
        status: 'fail',
        detail: `${whose} was not issued by the pinned CA (issuer: ${cert.issuer.replace(/\n/g, ', ')})`,
        code: 'AIRLOCK_DOCTOR_CERT_FOREIGN',
        hint: 'use a certificate issued by this tenant, or pin the CA of the tenant that issued it',
      };
    }
  }
  const uris = (cert.subjectAltName ?? '')
    .split(', ')
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
  if (opts.expectUri && !uris.some((u) => opts.expectUri?.test(u))) {
    return {
      name,
      status: 'fail',
      detail: `${whose} names ${uris.join(', ') || 'no URI'}, not this tenant`,
      code: 'AIRLOCK_DOCTOR_CERT_OTHER_TENANT',
      hint: 'use an identity issued for this tenant',
    };
  }
  const days = Math.floor((to - now) / 86_400_000);
  const names = uris.length > 0 ? `${uris.join(', ')}, ` : '';
  if (days < DEFAULT_DOCTOR_EXPIRY_WARNING_DAYS) {
    return {
      name,
      status: 'warn',
      detail: `${whose} (${names}expires in ${days} days)`,
      hint: 'renew it before it expires',
    };
  }
  return { name, status: 'ok', detail: `${whose} is valid (${names}${days} days left)` };
}

/** Compares the local clock with the server's `Date` header (HEAD / over the same pinned TLS). */
export function clockStep(t: TlsTarget, timeoutMs = DEFAULT_DOCTOR_STEP_TIMEOUT_MS): Promise<DoctorStep> {
  return new Promise((resolve) => {
    const started = Date.now();
    const req = request({
      host: t.host,
      port: t.port,
      method: 'HEAD',
      path: '/',
      servername: isIP(t.servername) === 0 ? t.servername : '',
      headers: { host: t.servername },
      ca: t.caPem,
      ...(t.certPem && t.keyPem ? { cert: t.certPem, key: t.keyPem } : {}),
      checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(t.servername, cert),
      agent: false,
      timeout: timeoutMs,
    });
    req.once('response', (res) => {
      res.resume();
      const date = Date.parse(res.headers.date ?? '');
      if (Number.isNaN(date)) {
        resolve({ name: 'clock', status: 'skip', detail: 'the server sent no Date header' });
        return;
      }
      const local = (started + Date.now()) / 2;
      const skew = local - date;
      const seconds = Math.round(Math.abs(skew) / 1000);
      const direction = skew > 0 ? 'ahead of' : 'behind';
      if (Math.abs(skew) > DEFAULT_DOCTOR_MAX_CLOCK_SKEW_MS) {
        resolve({
          name: 'clock',
          status: 'fail',
          detail: `this clock is ${seconds} s ${direction} ${t.servername}`,
          code: 'AIRLOCK_DOCTOR_CLOCK_SKEW',
          hint: 'synchronise the clock (NTP): certificates and tokens are checked against it',
        });
      } else {
        resolve({
          name: 'clock',
          status: 'ok',
          detail: `within ${Math.max(seconds, 1)} s of ${t.servername}`,
        });
      }
    });
    req.once('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.once('error', (err) => resolve(failedStep('clock', err, asConnection(t))));
    req.end();
  });
}
