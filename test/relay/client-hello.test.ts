import assert from 'node:assert/strict';
import net from 'node:net';
import { before, test } from 'node:test';
import fc from 'fast-check';
import {
  DEFAULT_MAX_CLIENT_HELLO_BYTES,
  parseClientHello,
  TlsAlert,
  tlsAlert,
} from '../../src/net/client-hello.js';
import { readClientHello } from '../../src/net/read-client-hello.js';
import { until } from '../fixtures/wait-until.js';
import { captureClientHello, splitIntoRecords } from './capture-client-hello.js';

let withSni: Buffer;
let withoutSni: Buffer;

before(async () => {
  withSni = await captureClientHello({ servername: 'Acme.LocalHost', ALPNProtocols: ['h2', 'http/1.1'] });
  // node sends no SNI when servername is an IP address
  withoutSni = await captureClientHello({ servername: '' });
});

test('parses SNI and ALPN from a real ClientHello captured from tls.connect', () => {
  const result = parseClientHello(withSni);
  assert.deepEqual(result, { kind: 'ok', sni: 'acme.localhost', alpn: ['h2', 'http/1.1'] });
});

test('a real ClientHello without SNI parses with sni undefined', () => {
  const result = parseClientHello(withoutSni);
  assert.equal(result.kind, 'ok');
  assert.equal(result.kind === 'ok' ? result.sni : 'x', undefined);
});

test('every strict prefix of a real ClientHello is incomplete and says how much is missing', () => {
  for (let n = 0; n < withSni.length; n++) {
    const result = parseClientHello(withSni.subarray(0, n));
    assert.equal(result.kind, 'incomplete', `prefix ${n}`);
    if (result.kind === 'incomplete') {
      assert.ok(result.need > 0 && n + result.need <= withSni.length, `prefix ${n} need ${result.need}`);
    }
  }
});

test('a ClientHello split across several TLS records parses the same', () => {
  const split = splitIntoRecords(withSni, [7, 50, 1, 300]);
  assert.ok(split.length > withSni.length + 10);
  assert.deepEqual(parseClientHello(split), parseClientHello(withSni));
  for (let n = 0; n < split.length; n++)
    assert.equal(parseClientHello(split.subarray(0, n)).kind, 'incomplete');
});

test('garbage, non-handshake records and truncated bodies are invalid', () => {
  assert.equal(parseClientHello(Buffer.from('GET / HTTP/1.1\r\nHost: acme\r\n\r\n')).kind, 'invalid');
  assert.equal(parseClientHello(Buffer.from([0x17, 3, 3, 0, 1, 0])).kind, 'invalid'); // application data
  assert.equal(parseClientHello(Buffer.from([0x16, 3, 3, 0, 0])).kind, 'invalid'); // empty record
  assert.equal(parseClientHello(Buffer.from([0x16, 3, 3, 0, 4, 2, 0, 0, 0])).kind, 'invalid'); // ServerHello
  // Cut 20 bytes off the end and fix record + handshake lengths: the inner extension lengths now lie.
  const shortened = Buffer.from(withSni.subarray(0, withSni.length - 20));
  shortened.writeUInt16BE(shortened.length - 5, 3);
  shortened.writeUIntBE(shortened.length - 9, 6, 3);
  assert.equal(parseClientHello(shortened).kind, 'invalid');
});

test('an oversized ClientHello is rejected from its header, before the bytes arrive', () => {
  const header = Buffer.from([0x16, 3, 1, 0x40, 0x00, 0x01, 0x01, 0x00, 0x00]); // handshake length 64 KiB
  const result = parseClientHello(header);
  assert.equal(result.kind, 'invalid');
  assert.match(result.kind === 'invalid' ? result.reason : '', /too large/);
  assert.equal(parseClientHello(withSni, { maxBytes: 100 }).kind, 'invalid');
  assert.equal(DEFAULT_MAX_CLIENT_HELLO_BYTES, 16 * 1024);
});

test('tlsAlert builds a 7-byte fatal alert record', () => {
  assert.deepEqual([...tlsAlert(TlsAlert.unrecognized_name)], [0x15, 3, 3, 0, 2, 2, 112]);
  assert.equal(tlsAlert(TlsAlert.handshake_failure)[6], 40);
  assert.equal(tlsAlert(TlsAlert.internal_error)[6], 80);
});

test('property: arbitrary bytes never throw and always give one of the three kinds', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (bytes, asRecord) => {
      const input = asRecord
        ? Buffer.concat([Buffer.from([0x16, 3, 1, bytes.length >> 8, bytes.length & 0xff]), bytes])
        : bytes;
      const result = parseClientHello(input);
      assert.ok(['ok', 'incomplete', 'invalid'].includes(result.kind));
      if (result.kind === 'incomplete') assert.ok(result.need > 0);
    }),
    { numRuns: 2000 },
  );
});

test('property: a real ClientHello with random byte mutations never throws', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), (edits) => {
      const mutated = Buffer.from(withSni);
      for (const [at, value] of edits) mutated[at % mutated.length] = value;
      const result = parseClientHello(mutated);
      assert.ok(['ok', 'incomplete', 'invalid'].includes(result.kind));
    }),
    { numRuns: 2000 },
  );
});

test('property: any prefix of a valid hello (any record split) is incomplete; the whole is ok', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 6 }),
      fc.nat(),
      (sizes, cut) => {
        const split = splitIntoRecords(withSni, sizes);
        assert.equal(parseClientHello(split).kind, 'ok');
        assert.equal(parseClientHello(split.subarray(0, cut % split.length)).kind, 'incomplete');
      },
    ),
    { numRuns: 500 },
  );
});

test('readClientHello reassembles a hello dribbled over many TCP writes', async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect(port, '127.0.0.1');
  const socket = await accepted;
  socket.setNoDelay(true);
  const reading = readClientHello(socket, { timeoutMs: 5000 });
  const split = splitIntoRecords(withSni, [40]);
  for (let at = 0; at < split.length; at += 97) {
    const piece = split.subarray(at, at + 97);
    client.write(piece);
    // The next piece goes out only once this one has arrived: one read per write.
    await until('the piece to arrive', () => socket.bytesRead >= at + piece.length, 5000, 1);
  }
  const result = await reading;
  assert.equal(result.kind, 'ok');
  assert.equal(result.kind === 'ok' ? result.sni : '', 'acme.localhost');
  assert.ok(result.bytes.equals(split), 'every byte read is returned for replay');
  client.destroy();
  socket.destroy();
  server.close();
});

test('readClientHello times out on a silent client and reports a closed one', async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const sockets: net.Socket[] = [];
  server.on('connection', (s) => sockets.push(s));

  const silent = net.connect(port, '127.0.0.1');
  await new Promise((resolve) => silent.once('connect', resolve));
  while (sockets.length < 1) await new Promise((resolve) => setImmediate(resolve));
  const timedOut = await readClientHello(sockets[0]!, { timeoutMs: 50 });
  assert.equal(timedOut.kind, 'timeout');

  const quitter = net.connect(port, '127.0.0.1');
  await new Promise((resolve) => quitter.once('connect', resolve));
  while (sockets.length < 2) await new Promise((resolve) => setImmediate(resolve));
  const reading = readClientHello(sockets[1]!, { timeoutMs: 5000 });
  quitter.end(Buffer.from([0x16, 3, 1]));
  const closed = await reading;
  assert.equal(closed.kind, 'closed');
  assert.equal(closed.bytes.length, 3);

  for (const s of [silent, quitter, ...sockets]) s.destroy();
  server.close();
});
