/**
 * Splits what arrives on a tunnel stream: the ACME CA's TLS-ALPN-01 validation connections (ALPN exactly
 * `acme-tls/1`, RFC 8737) go to the challenge answers, everything else continues to the agent endpoint
 * with the ClientHello bytes put back, untouched. Uses the relay's ClientHello reader (one parser).
 *
 * @example
 * if (await divertAcmeValidation(stream, acme.challenges)) return; // answered or dropped
 * server.emit('connection', stream);                                // an agent: TLS as usual
 */
import type { Duplex } from 'node:stream';
import { DEFAULT_CLIENT_HELLO_TIMEOUT_MS, readClientHello } from '../../net/read-client-hello.js';
import { type AlpnChallenges, offersAcmeAlpn } from './alpn-challenges.js';

export interface DivertOptions {
  /** Time the peer has to send its ClientHello. Default 5 s (the relay's own limit). */
  timeoutMs?: number;
}

/**
 * Peeks the ClientHello of `stream`. Returns true when the stream was taken (an ACME validation being
 * answered, or a stream without a valid ClientHello, destroyed); false when the caller should carry on,
 * with every byte read put back into the stream.
 */
export async function divertAcmeValidation(
  stream: Duplex,
  challenges: AlpnChallenges,
  options: DivertOptions = {},
): Promise<boolean> {
  stream.on('error', () => stream.destroy());
  const hello = await readClientHello(stream, {
    timeoutMs: options.timeoutMs ?? DEFAULT_CLIENT_HELLO_TIMEOUT_MS,
  });
  if (hello.kind !== 'ok') {
    stream.destroy();
    return true;
  }
  stream.unshift(hello.bytes);
  if (!offersAcmeAlpn(hello.alpn)) return false;
  challenges.answer(stream);
  return true;
}
