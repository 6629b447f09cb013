/**
 * TLS-ALPN-01 (RFC 8737) answers on the connector. The ACME CA's validation connection reaches the
 * relay like any agent's: SNI = the tenant host name, ALPN = `acme-tls/1`. The relay routes it by
 * SNI (it never looks further) down a tunnel; the connector peeks the ClientHello, sees the
 * `acme-tls/1` ALPN and completes a handshake with the challenge certificate instead of handing the
 * bytes to the MCP endpoint. No application data is ever exchanged on such a connection.
 *
 * @example
 * const challenges = new AlpnChallenges();
 * challenges.set('acme.relay.example', { keyPem, certPem });  // from acme.crypto.createAlpnCertificate
 * if (offersAcmeAlpn(hello)) challenges.answer(stream);
 */
import type { Duplex } from 'node:stream';
import tls from 'node:tls';

export const ACME_TLS_ALPN = 'acme-tls/1';
/** A validation handshake must finish within this time. */
export const DEFAULT_ALPN_CHALLENGE_TIMEOUT_MS = 10_000;

export interface ChallengeCertificate {
  keyPem: string;
  certPem: string;
}

/** True when the ClientHello's ALPN list is exactly the ACME validation protocol (RFC 8737 §3). */
export function offersAcmeAlpn(alpn: readonly string[] | undefined): boolean {
  return alpn !== undefined && alpn.length === 1 && alpn[0] === ACME_TLS_ALPN;
}

export class AlpnChallenges {
  private readonly byHost = new Map<string, tls.SecureContext>();
  private readonly server: tls.Server;

  constructor(timeoutMs = DEFAULT_ALPN_CHALLENGE_TIMEOUT_MS) {
    this.server = tls.createServer({
      ALPNProtocols: [ACME_TLS_ALPN],
      minVersion: 'TLSv1.2', // RFC 8737 requires TLS 1.2 or later; validators differ
      handshakeTimeout: timeoutMs,
      SNICallback: (servername, callback) => {
        const context = this.byHost.get(servername.toLowerCase());
        if (context) callback(null, context);
        else callback(new Error(`no pending ACME challenge for ${servername}`));
      },
    });
    // The validator only checks the certificate; close once the handshake is done.
    this.server.on('secureConnection', (socket) => socket.end());
    this.server.on('tlsClientError', (_err, socket) => socket.destroy());
  }

  /** Serves `certificate` for `hostname` until {@link delete}. */
  set(hostname: string, certificate: ChallengeCertificate): void {
    this.byHost.set(
      hostname.toLowerCase(),
      tls.createSecureContext({ key: certificate.keyPem, cert: certificate.certPem }),
    );
  }

  delete(hostname: string): void {
    this.byHost.delete(hostname.toLowerCase());
  }

  /** Number of challenges being answered (for status pages). */
  get pending(): number {
    return this.byHost.size;
  }

  /** Terminates the validation handshake on `stream` (the ClientHello bytes already unshifted). */
  answer(stream: Duplex): void {
    stream.on('error', () => stream.destroy());
    this.server.emit('connection', stream);
  }
}
