import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cardDetector, isCardNumber, luhnValid } from '../../src/pii/detectors/card.js';
import { customPatternDetector, PiiPatternError } from '../../src/pii/detectors/custom-pattern.js';
import { emailDetector } from '../../src/pii/detectors/email.js';
import { ibanDetector, isValidIban } from '../../src/pii/detectors/iban.js';
import { ipDetector } from '../../src/pii/detectors/ip.js';
import { nameDetector } from '../../src/pii/detectors/name.js';
import { isValidNino, ninoDetector } from '../../src/pii/detectors/nino.js';
import { phoneDetector } from '../../src/pii/detectors/phone.js';
import { secretDetector, shannonEntropy } from '../../src/pii/detectors/secret.js';
import { ssnDetector } from '../../src/pii/detectors/ssn.js';
import { PiiScanner, resolveOverlaps } from '../../src/pii/pii-scanner.js';
import type { PiiDetector, PiiSpan } from '../../src/pii/pii-types.js';

const values = (d: PiiDetector, text: string, key?: string) =>
  d.detect(text, key === undefined ? undefined : { key }).map((s) => s.value);

describe('email detector', () => {
  it('finds addresses in prose and JSON, normalised to lower case', () => {
    const d = emailDetector();
    assert.deepEqual(values(d, 'Write to Anna.Schmidt@Example.de, or "ops+alerts@mail.acme.co.uk".'), [
      'Anna.Schmidt@Example.de',
      'ops+alerts@mail.acme.co.uk',
    ]);
    assert.equal(d.detect('x jörg.müller@beispiel.de y')[0]?.value, 'jörg.müller@beispiel.de');
    assert.equal(d.detect('mail Anna@Example.DE')[0]?.normalized, 'anna@example.de');
  });
  it('ignores things that are not addresses', () => {
    const d = emailDetector();
    assert.deepEqual(values(d, 'twitter @anna, user@localhost, a@b, 10 @ 3 EUR'), []);
  });
});

describe('card detector', () => {
  it('accepts Luhn-valid numbers in known IIN ranges, grouped or compact', () => {
    const d = cardDetector();
    assert.deepEqual(values(d, 'Visa 4111 1111 1111 1111, Amex 3782-822463-10005, MC 5555555555554444.'), [
      '4111 1111 1111 1111',
      '3782-822463-10005',
      '5555555555554444',
    ]);
    assert.equal(d.detect('4111 1111 1111 1111')[0]?.normalized, '4111111111111111');
  });
  it('refuses Luhn failures, unknown ranges, glued identifiers and phone prefixes', () => {
    const d = cardDetector();
    assert.equal(luhnValid('4111111111111112'), false);
    assert.deepEqual(values(d, 'card 4111 1111 1111 1112'), []);
    assert.deepEqual(values(d, 'parcel 9000000000000001'), [], 'Luhn-valid but no issuer starts with 9');
    assert.ok(luhnValid('9000000000000001'));
    assert.deepEqual(values(d, 'ref INV-4111111111111111'), []);
    assert.deepEqual(values(d, 'mixed 4111 1111-1111 1111'), []);
    assert.equal(isCardNumber('378282246310005'), true);
    assert.equal(isCardNumber('37828224631000'), false, 'Amex is 15 digits');
  });
});

describe('IBAN detector', () => {
  it('accepts mod-97-valid IBANs at their country length, compact or grouped', () => {
    const d = ibanDetector();
    assert.deepEqual(values(d, 'DE89 3704 0044 0532 0130 00 and GB29NWBK60161331926819.'), [
      'DE89 3704 0044 0532 0130 00',
      'GB29NWBK60161331926819',
    ]);
    assert.equal(
      d.detect('iban fr1420041010050500013m02606')[0],
      undefined,
      'country code must be upper case',
    );
    assert.equal(d.detect('FR14 2004 1010 0505 0001 3M02 606')[0]?.normalized, 'FR1420041010050500013M02606');
  });
  it('refuses wrong check digits, wrong lengths and unknown countries', () => {
    const d = ibanDetector();
    assert.deepEqual(values(d, 'DE88 3704 0044 0532 0130 00'), []);
    assert.deepEqual(values(d, 'DE89370400440532013000123'), [], 'too long for DE');
    assert.deepEqual(values(d, 'QQ89370400440532013000'), []);
    assert.equal(isValidIban('NL91 ABNA 0417 1643 00'), true);
    assert.equal(isValidIban('NL91 ABNA 0417 1643 01'), false);
  });
  it('refuses a mod-97-valid run inside base64 or mixing capitals and small letters', () => {
    const d = ibanDetector();
    // Seen in a random base64 blob: 27 characters after "DJ" pass the check by chance (1 in 97).
    assert.deepEqual(values(d, 'TP3u+DJ95um79hjSQInppGsd09RL3AeB/jpGg'), []);
    assert.deepEqual(values(d, 'x DJ95um79hjSQInppGsd09RL3AeB y'), [], 'capitals and small letters mixed');
    assert.deepEqual(values(d, 'ref/DE89370400440532013000'), [], 'glued to a path');
    assert.deepEqual(values(d, 'IBAN: DE89370400440532013000.'), ['DE89370400440532013000']);
  });
});

describe('SSN and NINO detectors', () => {
  it('finds issuable SSNs and refuses the never-issued ranges', () => {
    const d = ssnDetector();
    assert.deepEqual(values(d, 'SSN 123-45-6789'), ['123-45-6789']);
    for (const bad of [
      '000-12-3456',
      '666-12-3456',
      '912-12-3456',
      '123-00-4567',
      '123-45-0000',
      '078-05-1120',
    ]) {
      assert.deepEqual(values(d, `SSN ${bad}`), [], bad);
    }
    assert.deepEqual(values(d, 'order 123456789'), [], 'bare digits need an SSN cue');
    assert.deepEqual(values(d, 'social security number: 123 45 6789'), ['123 45 6789']);
    assert.deepEqual(values(d, '123456789', 'ssn'), ['123456789']);
  });
  it('finds NINOs with HMRC prefix rules', () => {
    const d = ninoDetector();
    assert.deepEqual(values(d, 'NI AB 12 34 56 C and QQ123456C and AB123456C'), [
      'AB 12 34 56 C',
      'AB123456C',
    ]);
    assert.deepEqual(values(d, 'GB123456A BG123456A AO123456A AB123456E'), []);
    assert.equal(isValidNino('ab 12 34 56 c'), true);
    assert.equal(isValidNino('DA123456A'), false);
  });
});

describe('phone detector', () => {
  it('finds international and national numbers in several regions', () => {
    const d = phoneDetector();
    assert.deepEqual(values(d, 'Call +49 30 1234 5678 or +44 20 7946 0958.'), [
      '+49 30 1234 5678',
      '+44 20 7946 0958',
    ]);
    assert.deepEqual(values(d, 'US office (415) 555-0132, Paris 01 42 68 53 00, Berlin 030 12345678'), [
      '(415) 555-0132',
      '01 42 68 53 00',
      '030 12345678',
    ]);
    assert.equal(d.detect('tel: +49 30 1234 5678')[0]?.normalized, '+493012345678');
    assert.deepEqual(values(d, '0301234567', 'phone'), ['0301234567'], 'a bare number under a phone key');
  });
  it('refuses dates, amounts, identifiers, SSN shapes and IPs', () => {
    const d = phoneDetector();
    const text =
      'Order 2024-05-12, INV-2025-0042, total 1,234,567.89 and 1.234.567,89 EUR, ref 123456789, #0583336, ' +
      'SSN-shaped 666-12-3456, ip 192.168.10.254, ts 1718000000000, sort code 12-34-56, 12.05.2024.';
    assert.deepEqual(values(d, text), []);
  });
});

describe('IP detector', () => {
  it('finds IPv4 and IPv6 confirmed by net.isIP, and skips versions and loopback shorthand', () => {
    const d = ipDetector();
    assert.deepEqual(values(d, 'from 203.0.113.7 and 2001:db8::1, fe80::1%eth0'), [
      '203.0.113.7',
      '2001:db8::1',
      'fe80::1%eth0',
    ]);
    assert.deepEqual(
      values(d, 'v1.2.3.4, version 10.0.0.1, 999.1.1.1, 10:30:00, ::1, 00:1A:2B:3C:4D:5E'),
      [],
    );
  });
});

describe('secret detector', () => {
  it('finds vendor formats, JWTs and PEM private keys', () => {
    const d = secretDetector();
    const jwt =
      'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
    const pem =
      '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oS9F5JVEkjvAoAoGCCqGSM49\n-----END EC PRIVATE KEY-----';
    const text = `aws AKIAIOSFODNN7EXAMPLE gh ghp_${'a1B2'.repeat(9)} stripe sk_live_${'4eC39HqLyjWDarjtT1zdp7dc'} jwt ${jwt}\n${pem}`;
    const found = d.detect(text).map((s) => s.detector);
    for (const f of [
      'secret:aws-access-key-id',
      'secret:github-token',
      'secret:stripe-key',
      'secret:jwt',
      'secret:private-key',
    ]) {
      assert.ok(found.includes(f), `${f} in ${found.join(',')}`);
    }
  });
  it('flags high-entropy strings and password assignments but not hashes, UUIDs or words', () => {
    const d = secretDetector();
    assert.deepEqual(values(d, 'key=Zk3Jq9Xw2Lm8Pv5Rt7Yb1Nc4Hd6Gf0Sa'), ['Zk3Jq9Xw2Lm8Pv5Rt7Yb1Nc4Hd6Gf0Sa']);
    assert.deepEqual(values(d, 'password: "S3cr3t!pass"'), ['S3cr3t!pass']);
    assert.deepEqual(values(d, 'password: changeme'), []);
    assert.deepEqual(
      values(
        d,
        'sha 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 id 550e8400-e29b-41d4-a716-446655440000 getCustomerInvoices',
      ),
      [],
    );
    assert.deepEqual(values(d, 'hunter2', 'password'), ['hunter2'], 'a field named like a secret');
    assert.ok(shannonEntropy('aaaa') === 0 && shannonEntropy('abcd') === 2);
  });
});

describe('name detector', () => {
  it('finds names from cues, honorifics, known given names and person fields', () => {
    const d = nameDetector();
    assert.deepEqual(values(d, 'Please call Anna Schmidt tomorrow.'), ['Anna Schmidt']);
    assert.deepEqual(values(d, 'Sehr geehrte Frau Krüger-Hoffmann,'), ['Krüger-Hoffmann']);
    assert.deepEqual(values(d, 'Attendees: Procopio Girardi, Finnley Theele and Duco van den Broek.'), [
      'Procopio Girardi',
      'Finnley Theele',
      'Duco van den Broek',
    ]);
    assert.deepEqual(values(d, 'Bernadette Okafor', 'customerName'), ['Bernadette Okafor']);
    assert.deepEqual(values(d, '"contact": "Ylvi Tudow"'), ['Ylvi Tudow']);
  });
  it('does not take organisations, streets, places or products for people', () => {
    const d = nameDetector();
    assert.deepEqual(values(d, 'Shipped to Nordwind Logistik GmbH, 12 Baker Street, San Fernando.'), []);
    assert.deepEqual(values(d, 'The Selene Gloves ship on Monday.'), []);
    assert.deepEqual(values(d, 'Anna Schmidt', 'company'), [], 'a company field is never a person');
    assert.deepEqual(
      values(d, 'Thermal Label Roll', 'name'),
      [],
      'a plain name field needs a name-like value',
    );
  });
});

describe('custom patterns and the scanner', () => {
  it('runs tenant patterns and rejects broken ones', () => {
    const d = customPatternDetector({
      name: 'acme-customer-no',
      pattern: 'ACME-\\d{6}',
      class: 'CUSTOMER_NO',
    });
    assert.deepEqual(
      d.detect('ref ACME-123456').map((s) => [s.class, s.value]),
      [['CUSTOMER_NO', 'ACME-123456']],
    );
    assert.throws(() => customPatternDetector({ name: 'x', pattern: '(', class: 'X_ID' }), PiiPatternError);
    assert.throws(() => customPatternDetector({ name: 'x', pattern: 'a*', class: 'X_ID' }), PiiPatternError);
    assert.throws(() => customPatternDetector({ name: 'x', pattern: 'a', class: 'lower' }), PiiPatternError);
  });

  it('prefers the validated class on overlap and never re-detects issued tokens', () => {
    const scanner = new PiiScanner({
      patterns: [{ name: 'acme', pattern: 'ACME-\\d{6}', class: 'CUSTOMER_NO' }],
    });
    const spans = scanner.scan(
      'Anna Schmidt <anna@example.com> IBAN DE89 3704 0044 0532 0130 00 ACME-123456 [[EMAIL:7f3a9c21]]',
    );
    assert.deepEqual(
      spans.map((s) => s.class),
      ['NAME', 'EMAIL', 'IBAN', 'CUSTOMER_NO'],
    );
    const overlap: PiiSpan[] = [
      { start: 0, end: 10, class: 'PHONE', value: '', confidence: 0.9, priority: 50, detector: 'phone' },
      { start: 0, end: 22, class: 'IBAN', value: '', confidence: 0.9, priority: 90, detector: 'iban' },
    ];
    assert.deepEqual(
      resolveOverlaps(overlap).map((s) => s.class),
      ['IBAN'],
    );
  });
});

it('a 16 MiB base64 run is masked piecewise instead of exhausting the regex stack (bench finding)', async () => {
  const { randomBytes } = await import('node:crypto');
  const { PiiScanner } = await import('../../src/pii/pii-scanner.js');
  const text = randomBytes(12 * 1024 * 1024).toString('base64');
  const spans = new PiiScanner({}).scan(text);
  assert.ok(spans.length > 0);
  assert.ok(spans.every((s) => s.class === 'SECRET'));
  const covered = spans.reduce((n, s) => n + (s.end - s.start), 0);
  assert.ok(covered > text.length * 0.99, `covered ${covered} of ${text.length}`);
});
