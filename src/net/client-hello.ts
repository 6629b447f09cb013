/**
 * A bounded, allocation-light parser for the first flight of a TLS connection: the ClientHello.
 * The relay reads only what it needs to route (SNI, and ALPN for logging) and never decrypts.
 *
 * Follows RFC 8446 §4.1.2 / RFC 5246 §7.4.1.2 (record + handshake framing, legacy session id,
 * cipher suites, compression methods, extensions), RFC 6066 §3 (server_name) and RFC 7301 (ALPN).
 * A ClientHello may be split across several TCP reads *and* several TLS records; the parser reports
 * `incomplete` with the number of bytes still needed until the whole message is present.
 */

/** Default bound on the bytes read before giving up (16 KiB: far above any real ClientHello). */
export const DEFAULT_MAX_CLIENT_HELLO_BYTES = 16 * 1024;

export type ClientHelloResult =
  | { kind: 'ok'; sni?: string; alpn?: string[] }
  | { kind: 'incomplete'; need: number }
  | { kind: 'invalid'; reason: string };

export interface ParseClientHelloOptions {
  /** Reject when the ClientHello (records included) would exceed this many bytes. */
  maxBytes?: number;
}

const RECORD_HEADER = 5;
const CONTENT_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;
const MAX_RECORD_LENGTH = 1 << 14;
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;

/**
 * Parses a TLS ClientHello from the first bytes of a connection. Never throws.
 *
 * @example
 * const result = parseClientHello(bytes);
 * if (result.kind === 'ok') route(result.sni);
 * else if (result.kind === 'incomplete') readMore(result.need);
 */
export function parseClientHello(data: Uint8Array, options: ParseClientHelloOptions = {}): ClientHelloResult {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_CLIENT_HELLO_BYTES;
  const fragments: Uint8Array[] = [];
  let handshakeBytes = 0;
  let handshakeLength = -1;
  let offset = 0;
  for (;;) {
    if (data.length < offset + RECORD_HEADER) {
      if (offset + RECORD_HEADER > maxBytes) return { kind: 'invalid', reason: 'ClientHello too large' };
      return { kind: 'incomplete', need: offset + RECORD_HEADER - data.length };
    }
    const type = data[offset]!;
    const major = data[offset + 1]!;
    const recordLength = (data[offset + 3]! << 8) | data[offset + 4]!;
    if (type !== CONTENT_HANDSHAKE) {
      return { kind: 'invalid', reason: offset === 0 ? 'not a TLS handshake' : 'unexpected TLS record type' };
    }
    if (major !== 3) return { kind: 'invalid', reason: 'unsupported TLS record version' };
    if (recordLength === 0) return { kind: 'invalid', reason: 'empty handshake record' };
    if (recordLength > MAX_RECORD_LENGTH) return { kind: 'invalid', reason: 'TLS record too long' };
    const recordEnd = offset + RECORD_HEADER + recordLength;
    // The ClientHello is not complete yet (checked below), so this record must fit in the bound.
    if (recordEnd > maxBytes) return { kind: 'invalid', reason: 'ClientHello too large' };
    if (data.length < recordEnd) {
      // Look at the handshake header early to reject oversized hellos before buffering them.
      const early = earlyHandshakeCheck(fragments, data.subarray(offset + RECORD_HEADER), maxBytes);
      if (early) return early;
      return { kind: 'incomplete', need: recordEnd - data.length };
    }
    fragments.push(data.subarray(offset + RECORD_HEADER, recordEnd));
    handshakeBytes += recordLength;
    offset = recordEnd;
    if (handshakeLength < 0 && handshakeBytes >= 4) {
      const header = concat(fragments, 4);
      if (header[0] !== HANDSHAKE_CLIENT_HELLO)
        return { kind: 'invalid', reason: 'first handshake is not a ClientHello' };
      handshakeLength = (header[1]! << 16) | (header[2]! << 8) | header[3]!;
      if (handshakeLength + 4 > maxBytes) return { kind: 'invalid', reason: 'ClientHello too large' };
    }
    if (handshakeLength >= 0 && handshakeBytes >= handshakeLength + 4) {
      const message = concat(fragments, handshakeLength + 4);
      return parseClientHelloBody(message.subarray(4));
    }
  }
}

/** Checks the handshake header in a partially received record. */
function earlyHandshakeCheck(
  fragments: Uint8Array[],
  partial: Uint8Array,
  maxBytes: number,
): ClientHelloResult | undefined {
  const available = fragments.reduce((n, f) => n + f.length, 0) + partial.length;
  if (available < 4) return undefined;
  const header = concat([...fragments, partial], 4);
  if (header[0] !== HANDSHAKE_CLIENT_HELLO)
    return { kind: 'invalid', reason: 'first handshake is not a ClientHello' };
  const length = (header[1]! << 16) | (header[2]! << 8) | header[3]!;
  if (length + 4 > maxBytes) return { kind: 'invalid', reason: 'ClientHello too large' };
  return undefined;
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  if (parts.length > 0 && parts[0]!.length >= length) return parts[0]!.subarray(0, length);
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    if (at >= length) break;
    const take = Math.min(part.length, length - at);
    out.set(part.subarray(0, take), at);
    at += take;
  }
  return out;
}

/** A bounds-checked big-endian reader over one byte range. */
class Reader {
  constructor(
    private readonly bytes: Uint8Array,
    private pos = 0,
    private readonly end = bytes.length,
  ) {}
  get remaining(): number {
    return this.end - this.pos;
  }
  u8(): number | undefined {
    if (this.remaining < 1) return undefined;
    return this.bytes[this.pos++];
  }
  u16(): number | undefined {
    if (this.remaining < 2) return undefined;
    const value = (this.bytes[this.pos]! << 8) | this.bytes[this.pos + 1]!;
    this.pos += 2;
    return value;
  }
  /** A sub-reader over the next `length` bytes (and skips them here). */
  take(length: number): Reader | undefined {
    if (this.remaining < length) return undefined;
    const sub = new Reader(this.bytes, this.pos, this.pos + length);
    this.pos += length;
    return sub;
  }
  bytesOf(length: number): Uint8Array | undefined {
    if (this.remaining < length) return undefined;
    const out = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }
}

function invalid(reason: string): ClientHelloResult {
  return { kind: 'invalid', reason };
}

function parseClientHelloBody(body: Uint8Array): ClientHelloResult {
  const r = new Reader(body);
  const major = r.u8();
  if (major === undefined || r.u8() === undefined) return invalid('truncated ClientHello version');
  if (major !== 3) return invalid('unsupported ClientHello version');
  if (!r.take(32)) return invalid('truncated ClientHello random');
  const sessionIdLength = r.u8();
  if (sessionIdLength === undefined || sessionIdLength > 32 || !r.take(sessionIdLength)) {
    return invalid('bad legacy_session_id');
  }
  const suitesLength = r.u16();
  if (suitesLength === undefined || suitesLength < 2 || suitesLength % 2 !== 0 || !r.take(suitesLength)) {
    return invalid('bad cipher_suites');
  }
  const compressionLength = r.u8();
  if (compressionLength === undefined || compressionLength < 1 || !r.take(compressionLength)) {
    return invalid('bad compression_methods');
  }
  if (r.remaining === 0) return { kind: 'ok' }; // no extensions at all (old clients)
  const extensionsLength = r.u16();
  if (extensionsLength === undefined || extensionsLength !== r.remaining)
    return invalid('bad extensions length');
  const result: { kind: 'ok'; sni?: string; alpn?: string[] } = { kind: 'ok' };
  const seen = new Set<number>();
  while (r.remaining > 0) {
    const type = r.u16();
    const length = r.u16();
    if (type === undefined || length === undefined) return invalid('truncated extension header');
    const ext = r.take(length);
    if (!ext) return invalid('truncated extension');
    if (seen.has(type)) return invalid('duplicate extension');
    seen.add(type);
    if (type === EXT_SERVER_NAME) {
      const sni = parseServerName(ext);
      if (typeof sni !== 'string') return sni;
      if (sni !== '') result.sni = sni;
    } else if (type === EXT_ALPN) {
      const alpn = parseAlpn(ext);
      if (!Array.isArray(alpn)) return alpn;
      result.alpn = alpn;
    }
  }
  return result;
}

const HOST_NAME =
  /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/** Returns the host name ('' when the list has no host_name entry) or an invalid result. */
function parseServerName(ext: Reader): string | ClientHelloResult {
  if (ext.remaining === 0) return ''; // empty extension (allowed in a ServerHello, tolerated here)
  const listLength = ext.u16();
  if (listLength === undefined || listLength !== ext.remaining || listLength === 0) {
    return invalid('bad server_name list');
  }
  let host = '';
  while (ext.remaining > 0) {
    const nameType = ext.u8();
    const nameLength = ext.u16();
    if (nameType === undefined || nameLength === undefined) return invalid('truncated server_name entry');
    const name = ext.bytesOf(nameLength);
    if (!name) return invalid('truncated server_name entry');
    if (nameType !== 0) continue;
    if (host !== '') return invalid('several host_name entries');
    let text = '';
    for (const byte of name) {
      if (byte < 0x21 || byte > 0x7e) return invalid('server_name is not an ASCII host name');
      text += String.fromCharCode(byte);
    }
    text = text.toLowerCase();
    if (text.endsWith('.')) text = text.slice(0, -1);
    if (!HOST_NAME.test(text)) return invalid('server_name is not a valid host name');
    host = text;
  }
  return host;
}

function parseAlpn(ext: Reader): string[] | ClientHelloResult {
  const listLength = ext.u16();
  if (listLength === undefined || listLength !== ext.remaining || listLength < 2) {
    return invalid('bad application_layer_protocol_negotiation list');
  }
  const out: string[] = [];
  while (ext.remaining > 0) {
    const length = ext.u8();
    if (length === undefined || length === 0) return invalid('empty ALPN protocol name');
    const name = ext.bytesOf(length);
    if (!name) return invalid('truncated ALPN protocol name');
    out.push(Buffer.from(name).toString('latin1'));
  }
  return out;
}

/** TLS alert descriptions the relay sends before closing a connection it cannot route. */
export const TlsAlert = {
  handshake_failure: 40,
  internal_error: 80,
  unrecognized_name: 112,
} as const;

/**
 * A complete fatal alert record (7 bytes): content type 21, version 3.3, length 2, level 2, description.
 *
 * @example
 * socket.end(tlsAlert(TlsAlert.unrecognized_name));
 */
export function tlsAlert(description: number): Buffer {
  return Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, description & 0xff]);
}
