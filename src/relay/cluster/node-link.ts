/**
 * The node-to-node link of a relay cluster: HTTP/2 over mutual TLS 1.3 between relay nodes, one
 * stream per spliced agent connection. A node that receives an agent connection for a tenant whose
 * tunnels are on another node opens a stream here (`POST /v1/splice`, the agent's SNI in a header)
 * and pipes the agent's raw TLS bytes into it; the receiving node pipes them into one of its own
 * tunnels. Nothing is decrypted: the bytes are the agent's TLS records, as on a single node.
 *
 * Both ends present a certificate issued by the relay CA with the URI SAN
 * `spiffe://<relayHost>/relay-node/<nodeId>` (made at start from the shared relay identity); a
 * connector certificate (issued by the connector CA) or an agent cannot open a splice.
 *
 * @example
 * const link = await startNodeLinkServer({ host: '0.0.0.0', port: 8444, credentials, onSplice });
 * const client = new NodeLinkClient(credentials);
 * const stream = client.openSplice('10.0.0.2:8444', 'acme.relay.example', '203.0.113.7:51000');
 */
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { type Logger, pino } from 'pino';
import type { CertifiedKey } from '../../identity/pki.js';
import { issueClientCertificate } from '../../identity/pki.js';
import type { RelayIdentity } from '../relay-identity.js';

export const SPLICE_PATH = '/v1/splice';
/** Header carrying the agent's SNI on a splice stream. */
export const SPLICE_SNI_HEADER = 'x-airlock-sni';
/** Header carrying the agent's address (for the connector's logs, as on a single node). */
export const SPLICE_PEER_HEADER = 'x-airlock-peer';
/** Concurrent splices one peer may hold on this node's link. */
export const DEFAULT_MAX_SPLICES_PER_PEER = 10_000;
/** A node certificate is made at start and valid this long. */
export const NODE_CERTIFICATE_VALID_DAYS = 30;

/** What a node presents and trusts on the link. */
export interface NodeLinkCredentials {
  nodeId: string;
  relayHost: string;
  /** The relay CA (trust anchor of every node). */
  caPem: string;
  /** The relay host's server certificate (the link's server side). */
  server: CertifiedKey;
  /** This node's client certificate (URI SAN `spiffe://<relayHost>/relay-node/<nodeId>`). */
  client: CertifiedKey;
}

/** The URI SAN that marks a relay node's certificate. */
export function nodeUri(relayHost: string, nodeId: string): string {
  return `spiffe://${relayHost}/relay-node/${encodeURIComponent(nodeId)}`;
}

/** Issues this node's link certificate from the shared relay identity. */
export async function nodeLinkCredentials(
  identity: RelayIdentity,
  relayHost: string,
  nodeId: string,
): Promise<NodeLinkCredentials> {
  const client = await issueClientCertificate(identity.ca, {
    commonName: `relay node ${nodeId}`,
    uris: [nodeUri(relayHost, nodeId)],
    validDays: NODE_CERTIFICATE_VALID_DAYS,
  });
  return {
    nodeId,
    relayHost,
    caPem: identity.ca.certPem,
    server: identity.server,
    client: { certPem: client.certPem, keyPem: client.keyPem },
  };
}

export interface SpliceRequest {
  sni: string;
  peer: string;
  /** The node that sent the agent here. */
  fromNode: string;
  stream: http2.ServerHttp2Stream;
}

export interface NodeLinkServerOptions {
  host: string;
  port: number;
  credentials: NodeLinkCredentials;
  /** Called for each splice from an authenticated node; must answer the stream (200 or an error). */
  onSplice: (request: SpliceRequest) => void;
  maxSplicesPerPeer?: number;
  logger?: Logger;
}

export interface NodeLinkServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the link listener; resolves once it is bound. */
export async function startNodeLinkServer(options: NodeLinkServerOptions): Promise<NodeLinkServer> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const { credentials } = options;
  const prefix = `spiffe://${credentials.relayHost}/relay-node/`;
  const server = http2.createSecureServer({
    key: credentials.server.keyPem,
    cert: credentials.server.certPem,
    ca: [credentials.caPem],
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.3',
    settings: { maxConcurrentStreams: options.maxSplicesPerPeer ?? DEFAULT_MAX_SPLICES_PER_PEER },
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
    session.on('error', () => session.destroy());
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => stream.destroy());
    const fromNode = peerNodeId(stream.session?.socket as TLSSocket | undefined, prefix);
    if (fromNode === undefined) {
      logger.warn('node link: a peer without a relay-node certificate was refused');
      return answer(stream, 403);
    }
    const sni = headers[SPLICE_SNI_HEADER];
    if (headers[':method'] !== 'POST' || headers[':path'] !== SPLICE_PATH || typeof sni !== 'string')
      return answer(stream, 404);
    const peer = headers[SPLICE_PEER_HEADER];
    options.onSplice({ sni, peer: typeof peer === 'string' ? peer : 'unknown', fromNode, stream });
  });
  server.on('tlsClientError', (err) => logger.debug({ err: err.message }, 'node link handshake failed'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    async close(): Promise<void> {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const session of sessions) session.destroy();
      await closed;
    },
  };
}

function answer(stream: http2.ServerHttp2Stream, status: number): void {
  if (stream.destroyed || stream.headersSent) return;
  stream.respond({ ':status': status }, { endStream: true });
}

function peerNodeId(socket: TLSSocket | undefined, prefix: string): string | undefined {
  if (!socket?.authorized) return undefined;
  const san = socket.getPeerCertificate()?.subjectaltname ?? '';
  for (const entry of san.split(', ')) {
    if (entry.startsWith(`URI:${prefix}`)) return decodeURIComponent(entry.slice(`URI:${prefix}`.length));
  }
  return undefined;
}

/** Keeps one HTTP/2 session per peer node and opens splice streams on it. */
export class NodeLinkClient {
  private readonly sessions = new Map<string, http2.ClientHttp2Session>();

  constructor(private readonly credentials: NodeLinkCredentials) {}

  /**
   * Opens a splice stream to the node at `peerAddress` (`host:port`). The caller pipes the agent's
   * bytes into it; a non-200 answer means the peer had no tunnel for the tenant any more.
   */
  openSplice(peerAddress: string, sni: string, peer: string): http2.ClientHttp2Stream {
    return this.session(peerAddress).request(
      { ':method': 'POST', ':path': SPLICE_PATH, [SPLICE_SNI_HEADER]: sni, [SPLICE_PEER_HEADER]: peer },
      { endStream: false },
    );
  }

  close(): void {
    for (const session of this.sessions.values()) session.destroy();
    this.sessions.clear();
  }

  private session(peerAddress: string): http2.ClientHttp2Session {
    const existing = this.sessions.get(peerAddress);
    if (existing && !existing.closed && !existing.destroyed) return existing;
    const { credentials } = this;
    const session = http2.connect(`https://${peerAddress}`, {
      ca: [credentials.caPem],
      cert: credentials.client.certPem,
      key: credentials.client.keyPem,
      servername: credentials.relayHost,
      minVersion: 'TLSv1.3',
    });
    const forget = (): void => {
      if (this.sessions.get(peerAddress) === session) this.sessions.delete(peerAddress);
    };
    session.on('error', forget);
    session.on('close', forget);
    session.on('goaway', forget);
    session.unref();
    this.sessions.set(peerAddress, session);
    return session;
  }
}
