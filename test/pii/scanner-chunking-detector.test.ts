import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePiiPolicy } from '../../src/pii/pii-policy.js';
import { PiiScanner, withRemainders } from '../../src/pii/pii-scanner.js';
import type { PiiSpan } from '../../src/pii/pii-types.js';

const summary = (spans: readonly PiiSpan[]) => spans.map((s) => `${s.start}:${s.class}:${s.value}`);

describe('scanner on long strings', () => {
  it('finds the same spans window by window as in one pass, also across window edges', () => {
    const record =
      'Kunde Karl Lindner, Hauptstraße 12, 10115 Berlin, anna.schmidt@example.de, IBAN DE89 3704 0044 0532 0130 00, ' +
      'card 4111 1111 1111 1111, DNI 12345678Z, order ORD-12345678, total 1.234,56 €.\n';
    const text = record.repeat(60); // ~9 KiB: many values sit across a 1 KiB window edge
    const whole = new PiiScanner({ chunkChars: 1 << 20 }).scan(text);
    const chunked = new PiiScanner({ chunkChars: 1024, chunkOverlap: 512 }).scan(text);
    assert.ok(whole.length >= 60 * 6, `expected many spans, got ${whole.length}`);
    assert.deepEqual(summary(chunked), summary(whole));
  });

  it('keeps a long secret whole when it crosses a window edge', () => {
    const pem = `-----BEGIN PRIVATE KEY-----\n${'A'.repeat(64)}\n${'B'.repeat(64)}\n-----END PRIVATE KEY-----`;
    const text = `${'x '.repeat(600)}${pem} tail`;
    const spans = new PiiScanner({ chunkChars: 1024, chunkOverlap: 512 }).scan(text);
    assert.deepEqual(
      spans.map((s) => s.value),
      [pem],
    );
  });
});

describe('remainders of partly overlapped spans', () => {
  it('reports the part of a losing span that reaches beyond the winner', () => {
    const text = 'at 94754 Avenida Suélen, 08186-928 Alícia do Descoberto.';
    const span = (start: number, end: number, cls: string, priority: number): PiiSpan => ({
      start,
      end,
      class: cls,
      value: text.slice(start, end),
      confidence: 0.8,
      priority,
      detector: cls.toLowerCase(),
    });
    const address = span(3, 55, 'ADDRESS', 40);
    const phone = span(25, 34, 'PHONE', 50);
    const out = withRemainders(text, [address, phone], [phone]);
    assert.deepEqual(
      out.map((s) => `${s.class}:${s.value}`),
      ['ADDRESS:94754 Avenida Suélen', 'PHONE:08186-928', 'ADDRESS:Alícia do Descoberto'],
    );
  });
});

describe('tenant patterns for record numbers', () => {
  it('detects the tenant record numbers of the pii policy and nothing else', () => {
    const policy = compilePiiPolicy({
      patterns: [
        { name: 'patient-mrn', pattern: String.raw`\bMRN-\d{7}\b`, class: 'PATIENT_MRN' },
        {
          name: 'case-no',
          pattern: String.raw`\bcase (\d{4}/\d{5})\b`,
          class: 'CASE_NO',
          group: 1,
          flags: 'i',
        },
      ],
    });
    const scanner = new PiiScanner({ patterns: policy.patterns });
    const spans = scanner.scan(
      'Patient MRN-0012345, Case 2025/00042; invoice INV-2025-0042, MRN-12 and order 0012345.',
    );
    assert.deepEqual(
      spans.map((s) => `${s.class}:${s.value}`),
      ['PATIENT_MRN:MRN-0012345', 'CASE_NO:2025/00042'],
    );
    assert.equal(policy.actionFor('PATIENT_MRN'), 'tokenize');
  });
});
