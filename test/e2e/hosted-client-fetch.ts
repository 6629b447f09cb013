/**
 * What a hosted assistant's HTTP stack looks like to Airlock: public-CA trust only (here: Pebble's
 * issuing root, standing in for the system roots), no pinned tenant CA, no client certificate unless
 * given. Requests to the tenant origin dial the relay on loopback with the tenant name as SNI; every
 * TLS handshake records the serial of the certificate it saw. Other origins (the IdP) use plain fetch.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { FetchLike } from '@modelcontextprotocol/client';
import { Agent, buildConnector, type RequestInit as UndiciRequestInit, fetch as undiciFetch } from 'undici';

export interface HostedFetch extends FetchLike {
  /** Serial numbers of the server certificates, one per TLS handshake, in order. */
  readonly serials: string[];
  /** Open and closed TLS sockets to the tenant, with the serial each one saw. */
  readonly sockets: Array<{ socket: Socket; serial: string }>;
  /** Later requests use new connections (new handshakes); earlier ones stay open. */
  reconnect(): void;
  close(): Promise<void>;
}

export interface HostedFetchOptions {
  origin: string;
  connectTo: { host: string; port: number };
  /** The only trust anchor (no tenant CA). */
  rootPem: string;
  clientCertificate?: { certPem: string; keyPem: string };
}

export function createHostedFetch(options: HostedFetchOptions): HostedFetch {
  const origin = new URL(options.origin);
  const serials: string[] = [];
  const sockets: HostedFetch['sockets'] = [];
  const agents: Agent[] = [];
  const connector = buildConnector({
    ca: options.rootPem,
    minVersion: 'TLSv1.3',
    // Full handshakes only (no TLS session resumption), so that each connection shows the certificate.
    maxCachedSessions: 0,
    ...(options.clientCertificate
      ? { cert: options.clientCertificate.certPem, key: options.clientCertificate.keyPem }
      : {}),
  });
  const newAgent = (): Agent => {
    const agent = new Agent({
      connect: (opts, callback) =>
        connector(
          {
            ...opts,
            hostname: options.connectTo.host,
            port: String(options.connectTo.port),
            servername: origin.hostname,
          },
          (err, socket) => {
            if (socket) {
              const serial = (socket as TLSSocket).getPeerX509Certificate?.()?.serialNumber ?? '';
              serials.push(serial);
              sockets.push({ socket, serial });
            }
            if (err) callback(err, null);
            else callback(null, socket as Socket);
          },
        ),
    });
    agents.push(agent);
    return agent;
  };
  let dispatcher = newAgent();
  const hostedFetch = (input: string | URL, init?: RequestInit): Promise<Response> => {
    const target = new URL(input);
    if (target.origin !== origin.origin) return fetch(target, init);
    return undiciFetch(target, {
      ...(init as UndiciRequestInit),
      dispatcher,
    }) as unknown as Promise<Response>;
  };
  return Object.assign(hostedFetch, {
    serials,
    sockets,
    reconnect: () => {
      dispatcher = newAgent();
    },
    close: async () => {
      await Promise.all(agents.map((a) => a.destroy()));
    },
  });
}
