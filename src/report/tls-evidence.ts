/**
 * Which TLS versions and cipher suites are in force, proven by handshakes rather than read from
 * settings: the report offers each version alone (TLS 1.2 only, then TLS 1.3 only) to the tenant
 * endpoint agents reach (through the relay, SNI = the tenant host), to the direct agent listener
 * when one is configured, and to the relay's tunnel endpoint with the connector's own credential,
 * and records what was accepted and the suite negotiated. Node's defaults (the connector sets no
 * `ciphers`) are listed next to them.
 *
 * @example
 * const probe = await probeTls({ host: '127.0.0.1', port: 443, servername: 'acme.relay.example', ca }, 'TLSv1.2');
 * probe.accepted; // false when the endpoint is TLS 1.3 only
 */
import tls from 'node:tls';
import type { TlsEndpointEvidence, TlsEvidence, TlsProbe } from './report-model.js';
import { reproduce } from './reproduce-commands.js';

/** Longest a single probe handshake may take. */
export const DEFAULT_TLS_PROBE_TIMEOUT_MS = 5000;

export interface TlsProbeTarget {
  host: string;
  port: number;
  servername: string;
  /** PEM of the CA that must have issued the server certificate (default: the system roots). */
  ca?: string;
  /** Client credential to present (the relay's tunnel endpoint asks for one). */
  key?: string;
  cert?: string;
  timeoutMs?: number;
}

/**
 * One handshake offering exactly `version`. Never throws: a refusal is a result.
 *
 * @example
 * await probeTls(target, 'TLSv1.3') // { offered: 'TLSv1.3', accepted: true, protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' }
 */
export function probeTls(target: TlsProbeTarget, version: 'TLSv1.2' | 'TLSv1.3'): Promise<TlsProbe> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: target.host,
      port: target.port,
      servername: target.servername,
      ...(target.ca ? { ca: target.ca } : {}),
      minVersion: version,
      maxVersion: version,
      ...(target.key && target.cert ? { key: target.key, cert: target.cert } : {}),
    });
    const done = (probe: TlsProbe) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(probe);
    };
    const timer = setTimeout(
      () => done({ offered: version, accepted: false, error: 'timed out' }),
      target.timeoutMs ?? DEFAULT_TLS_PROBE_TIMEOUT_MS,
    );
    socket.once('secureConnect', () => {
      const protocol = socket.getProtocol() ?? undefined;
      const cipher = socket.getCipher()?.standardName;
      done({
        offered: version,
        accepted: true,
        ...(protocol ? { protocol } : {}),
        ...(cipher ? { cipher } : {}),
      });
    });
    socket.once('error', (err: NodeJS.ErrnoException) =>
      // OpenSSL's code (`ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION`) says it all; its message is a stack of paths.
      done({ offered: version, accepted: false, error: err.code ?? err.message }),
    );
  });
}

/** Both versions against one endpoint, as report evidence. */
export async function probeEndpoint(
  name: string,
  target: TlsProbeTarget,
  paths: { configFile: string; dataDir: string },
): Promise<TlsEndpointEvidence> {
  const probes = [await probeTls(target, 'TLSv1.2'), await probeTls(target, 'TLSv1.3')];
  const where = `${target.host}:${target.port}`;
  return {
    name,
    target: where,
    servername: target.servername,
    probes,
    reproduce: reproduce(paths).tls(where, target.servername, 'TLSv1.2'),
  };
}

/** What the connector's sockets inherit from Node when they set no cipher list. */
export function tlsDefaults(): TlsEvidence['defaults'] {
  return {
    minVersion: tls.DEFAULT_MIN_VERSION,
    maxVersion: tls.DEFAULT_MAX_VERSION,
    cipherSuites: tls.DEFAULT_CIPHERS.split(':').filter((s) => s.length > 0 && !s.startsWith('!')),
  };
}

/** `tls://host:port` / `wss://host:port` → host and port (443 by default). */
export function relayAddress(url: string): { host: string; port: number } {
  const u = new URL(url.replace(/^(tls|wss):/, 'https:'));
  return { host: u.hostname, port: u.port ? Number(u.port) : 443 };
}

/** `host:port` of a listen address, with a wildcard host replaced by loopback. */
export function dialable(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[|\]$/g, '');
  const wildcard = host === '0.0.0.0' || host === '::' || host === '';
  return { host: wildcard ? '127.0.0.1' : host, port: Number(listen.slice(i + 1)) };
}
