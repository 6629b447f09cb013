/**
 * Every parser that touches bytes from outside, as fast-check targets shared by the property tests
 * (test/adversarial/parsers-property.test.ts, a few hundred runs each) and the long fuzz loop
 * (scripts/fuzz.ts, `npm run fuzz -- --runs N`). Each target pairs an input generator with the
 * invariants that must hold for *any* input: never throw anything but the documented error, bounded
 * output, and round trips for valid input.
 *
 * Parsers: TLS ClientHello (relay), tunnel hello and rejection (tunnel), connector URI SAN (relay),
 * enrollment request and token (relay), connector YAML config, policy YAML, sandbox block, and the
 * JSON-RPC handling of the connector's /mcp (a real endpoint, over real TLS).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_MAX_CLIENT_HELLO_BYTES, parseClientHello } from '../../src/net/client-hello.js';
import { newEnrollmentToken, parseEnrollmentToken } from '../../src/relay/enrollment-token.js';
import { enrollRequestSchema } from '../../src/tunnel/enrollment-protocol.js';
import {
  connectorUri,
  decodeRejection,
  encodeRejection,
  parseConnectorUri,
  parseTunnelHello,
} from '../../src/tunnel/protocol.js';

export { checkTarget, type ParserTarget } from './parser-target.js';

import type { ParserTarget } from './parser-target.js';
import { connectorConfigTarget, policyTarget, sandboxBlockTarget } from './yaml-parser-targets.js';

// ---- TLS ClientHello ------------------------------------------------------------------------------

/** A syntactically valid TLS ClientHello record carrying `sni` (and `alpn`), for round trips. */
export function buildClientHello(sni: string | undefined, alpn: string[] = []): Buffer {
  const u16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
  const extensions: Buffer[] = [];
  if (sni !== undefined) {
    const name = Buffer.from(sni, 'latin1');
    const entry = Buffer.concat([Buffer.from([0]), u16(name.length), name]);
    const list = Buffer.concat([u16(entry.length), entry]);
    extensions.push(Buffer.concat([u16(0), u16(list.length), list]));
  }
  if (alpn.length > 0) {
    const protos = Buffer.concat(
      alpn.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p, 'latin1')])),
    );
    const list = Buffer.concat([u16(protos.length), protos]);
    extensions.push(Buffer.concat([u16(16), u16(list.length), list]));
  }
  const ext = Buffer.concat(extensions);
  const body = Buffer.concat([
    Buffer.from([3, 3]),
    Buffer.alloc(32, 7),
    Buffer.from([0]),
    u16(2),
    Buffer.from([0x13, 0x01]),
    Buffer.from([1, 0]),
    u16(ext.length),
    ext,
  ]);
  const handshake = Buffer.concat([
    Buffer.from([1, (body.length >> 16) & 0xff, (body.length >> 8) & 0xff, body.length & 0xff]),
    body,
  ]);
  return Buffer.concat([Buffer.from([0x16, 3, 1]), u16(handshake.length), handshake]);
}

const HOST_LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

type ClientHelloInput =
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'mutated'; sni: string; edits: Array<[number, number]>; cut: number | undefined }
  | { kind: 'valid'; sni: string; alpn: string[] };

const clientHelloInput: fc.Arbitrary<ClientHelloInput> = fc.oneof(
  fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 1200 }) }),
  fc.record({
    kind: fc.constant('mutated' as const),
    sni: fc.domain(),
    edits: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
    cut: fc.option(fc.nat(), { nil: undefined }),
  }),
  fc.record({
    kind: fc.constant('valid' as const),
    sni: fc.domain(),
    alpn: fc.array(fc.stringMatching(/^[a-z0-9/.-]{1,20}$/), { maxLength: 3 }),
  }),
);

export const clientHelloTarget: ParserTarget<ClientHelloInput> = {
  name: 'tls-client-hello',
  arbitrary: clientHelloInput,
  check(input) {
    if (input.kind === 'valid') {
      const result = parseClientHello(buildClientHello(input.sni, input.alpn));
      assert.equal(result.kind, 'ok');
      if (result.kind === 'ok') {
        assert.equal(result.sni, input.sni.toLowerCase().replace(/\.$/, ''));
        if (input.alpn.length > 0) assert.deepEqual(result.alpn, input.alpn);
      }
      return;
    }
    let bytes: Uint8Array;
    if (input.kind === 'bytes') bytes = input.bytes;
    else {
      const hello = buildClientHello(input.sni);
      for (const [at, value] of input.edits) hello[at % hello.length] = value;
      bytes = input.cut === undefined ? hello : hello.subarray(0, input.cut % (hello.length + 1));
    }
    const result = parseClientHello(bytes);
    assert.ok(['ok', 'incomplete', 'invalid'].includes(result.kind));
    if (result.kind === 'incomplete') {
      assert.ok(result.need > 0);
      assert.ok(
        bytes.length + result.need <= DEFAULT_MAX_CLIENT_HELLO_BYTES + 5,
        'never asks beyond the bound',
      );
    }
    if (result.kind === 'ok' && result.sni !== undefined) {
      assert.ok(result.sni.length <= 253 && result.sni === result.sni.toLowerCase());
      for (const label of result.sni.split('.')) assert.match(label, HOST_LABEL);
    }
  },
};

// ---- tunnel hello, rejection, connector URI ---------------------------------------------------------

const validHello = fc.record({
  connectorId: fc.string({ minLength: 1, maxLength: 128 }),
  slot: fc.integer({ min: 0, max: 1024 }),
  version: fc.integer({ min: 1, max: 1000 }),
});

export const tunnelHelloTarget: ParserTarget<{
  text: string;
  valid?: { connectorId: string; slot: number; version: number };
}> = {
  name: 'tunnel-hello',
  arbitrary: fc.oneof(
    fc.string({ maxLength: 300 }).map((text) => ({ text })),
    fc.json({ maxDepth: 4 }).map((text) => ({ text })),
    fc
      .record(
        { connectorId: fc.anything(), slot: fc.anything(), version: fc.anything() },
        { requiredKeys: [] },
      )
      .map((v) => ({ text: JSON.stringify(v) ?? '' })),
    validHello.map((valid) => ({ text: JSON.stringify(valid), valid })),
  ),
  check({ text, valid }) {
    const hello = parseTunnelHello(text);
    if (valid) assert.deepEqual(hello, { ...valid });
    if (hello) {
      assert.ok(
        typeof hello.connectorId === 'string' &&
          hello.connectorId.length >= 1 &&
          hello.connectorId.length <= 128,
      );
      assert.ok(Number.isInteger(hello.slot) && hello.slot >= 0 && hello.slot <= 1024);
      assert.ok(Number.isInteger(hello.version) && hello.version >= 1);
    }
  },
};

export const tunnelRejectionTarget: ParserTarget<{
  bytes: Buffer;
  valid?: { code: string; message: string };
}> = {
  name: 'tunnel-rejection',
  arbitrary: fc.oneof(
    fc.uint8Array({ maxLength: 3000 }).map((b) => ({ bytes: Buffer.from(b) })),
    fc.json({ maxDepth: 3 }).map((t) => ({ bytes: Buffer.from(t) })),
    fc
      .record({ code: fc.string({ maxLength: 100 }), message: fc.string({ maxLength: 300 }) })
      .map((valid) => ({ bytes: encodeRejection(valid), valid })),
  ),
  check({ bytes, valid }) {
    const decoded = decodeRejection(bytes);
    if (valid) assert.deepEqual(decoded, { ...valid });
    if (decoded) assert.ok(decoded.code.length <= 100 && decoded.message.length <= 1000);
  },
};

export const connectorUriTarget: ParserTarget<{
  uri: string;
  valid?: { tenant: string; connectorId: string };
}> = {
  name: 'connector-uri',
  arbitrary: fc.oneof(
    fc.string({ maxLength: 200 }).map((uri) => ({ uri })),
    fc.string({ maxLength: 80 }).map((tail) => ({ uri: `airlock://connector/${tail}` })),
    fc
      .record({
        tenant: fc.stringMatching(/^[a-z0-9-]{1,63}$/),
        connectorId: fc.stringMatching(/^[A-Za-z0-9_-]{1,128}$/),
      })
      .map((valid) => ({ uri: connectorUri(valid.tenant, valid.connectorId), valid })),
  ),
  check({ uri, valid }) {
    const parsed = parseConnectorUri(uri);
    if (valid) assert.deepEqual(parsed, { ...valid });
    if (parsed) {
      assert.equal(connectorUri(parsed.tenant, parsed.connectorId), uri, 'only canonical URIs parse');
      assert.ok(!parsed.tenant.includes('/') && !parsed.connectorId.includes('/'));
    }
  },
};

// ---- enrollment -------------------------------------------------------------------------------------

export const enrollmentRequestTarget: ParserTarget<{ body: string; token: string }> = {
  name: 'enrollment-request',
  arbitrary: fc.record({
    body: fc.oneof(
      fc.string({ maxLength: 400 }),
      fc.json({ maxDepth: 4 }),
      fc
        .record(
          {
            token: fc.oneof(fc.string({ maxLength: 300 }), fc.anything()),
            csr: fc.oneof(fc.string({ maxLength: 100 }), fc.anything()),
            auditPublicKeyPem: fc.anything(),
          },
          { requiredKeys: [] },
        )
        .map((v) => JSON.stringify(v) ?? ''),
    ),
    token: fc.oneof(
      fc.string({ maxLength: 120 }),
      fc.constant(null).map(() => newEnrollmentToken().token),
      fc.constant(null).map(() => `${newEnrollmentToken().token}x`),
    ),
  }),
  check({ body, token }) {
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      json = undefined;
    }
    const parsed = enrollRequestSchema.safeParse(json);
    if (parsed.success) {
      assert.ok(parsed.data.token.length <= 256 && parsed.data.csr.length <= 16 * 1024);
    }
    const t = parseEnrollmentToken(token);
    if (t) {
      assert.match(t.id, /^[0-9a-f]{16}$/);
      assert.match(t.secretHash, /^[0-9a-f]{64}$/);
    }
  },
};

/** The synchronous parser targets, in the order the fuzz loop runs them. */
export const PARSER_TARGETS = [
  clientHelloTarget,
  tunnelHelloTarget,
  tunnelRejectionTarget,
  connectorUriTarget,
  enrollmentRequestTarget,
  connectorConfigTarget,
  policyTarget,
  sandboxBlockTarget,
] as unknown as ReadonlyArray<ParserTarget<unknown>>;
