import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nationalIdDetector } from '../../src/pii/detectors/national-id.js';
import {
  isValidBsn,
  isValidCodiceFiscale,
  isValidDni,
  isValidNir,
  isValidSteuerId,
} from '../../src/pii/detectors/national-id-checksums.js';
import { PiiScanner } from '../../src/pii/pii-scanner.js';

const found = (text: string, key?: string) =>
  nationalIdDetector()
    .detect(text, key === undefined ? undefined : { key })
    .map((s) => `${s.class}:${s.value}`);

describe('national identifier checksums', () => {
  it('accepts valid identifiers and refuses a changed check character', () => {
    assert.equal(isValidDni('12345678Z'), true);
    assert.equal(isValidDni('12345678A'), false);
    assert.equal(isValidDni('X1234567L'), true); // NIE: X → 0
    assert.equal(isValidDni('Y1234567X'), true); // NIE: Y → 1
    assert.equal(isValidDni('X1234567M'), false);
    assert.equal(isValidCodiceFiscale('RSSMRA85T10A562S'), true);
    assert.equal(isValidCodiceFiscale('RSSMRA85T10A562T'), false);
    assert.equal(isValidCodiceFiscale('RSSMRA85T99A562S'), false, 'day 99 does not exist');
    assert.equal(isValidBsn('111222333'), true);
    assert.equal(isValidBsn('111222334'), false);
    assert.equal(isValidBsn('000000000'), false);
    assert.equal(isValidNir('185057800608491'), true);
    assert.equal(isValidNir('185057800608436'), false);
    assert.equal(isValidNir('185052A00608435'), true, 'Corsica 2A counts as 19');
    assert.equal(isValidNir('38505780060849'.concat('1')), false, 'sex digit 3 does not exist');
    assert.equal(isValidSteuerId('65929970489'), true);
    assert.equal(isValidSteuerId('65929970488'), false);
    assert.equal(isValidSteuerId('12345678903'), false, 'no repeated digit in the first ten');
    assert.equal(isValidSteuerId('05929970489'), false, 'no leading zero');
  });
});

describe('national identifier detector', () => {
  it('finds the checksummed identifiers in prose, spaced or compact', () => {
    assert.deepEqual(found('DNI 12345678Z, NIE X-1234567-L.'), ['DNI:12345678Z', 'NIE:X-1234567-L']);
    assert.deepEqual(found('codice fiscale: rssmra85t10a562s'), ['CODICE_FISCALE:rssmra85t10a562s']);
    assert.deepEqual(found('N° de sécurité sociale 1 85 05 78 006 084 91'), ['NIR:1 85 05 78 006 084 91']);
    assert.deepEqual(found('Steuer-ID 65929970489'), ['STEUER_ID:65929970489']);
    assert.deepEqual(found('IdNr. 65 929 970 489'), ['STEUER_ID:65 929 970 489']);
  });

  it('wants a cue for nine or eleven bare digits (BSN, Steuer-ID), from text or a JSON key', () => {
    assert.deepEqual(found('BSN: 111222333'), ['BSN:111222333']);
    assert.deepEqual(found('burgerservicenummer 1112.22.333'), ['BSN:1112.22.333']);
    assert.deepEqual(found('111222333', 'bsn'), ['BSN:111222333']);
    assert.deepEqual(found('65929970489', 'taxId'), ['STEUER_ID:65929970489']);
    assert.deepEqual(found('order 111222333 shipped'), []);
    assert.deepEqual(found('Rechnung 65929970489'), []);
    // The cue belongs to the number right after it, not to every number in the next 48 characters.
    assert.deepEqual(found('BSN: 111222333, order 111222333'), ['BSN:111222333']);
  });

  it('refuses look-alikes with a wrong check character and identifiers glued to other text', () => {
    assert.deepEqual(found('DNI 12345678A, NIE X1234567M, CF RSSMRA85T10A562T'), []);
    assert.deepEqual(found('BSN 111222334, Steuer-ID 65929970488, NIR 1 85 05 78 006 084 36'), []);
    assert.deepEqual(found('SKU-12345678Z, REF12345678Z, 12345678Z-2'), []);
  });

  it('leaves business decoys alone', () => {
    const decoys =
      'Invoice INV-2025-0042, order ORD-12345678, SKU-10001, total 1.234,56 EUR, version 2.13.0, ' +
      'shipped 2025-03-12 to Rotterdam, tracking 1Z999AA10123456784, PO 4500012345, ISBN 978-3-16-148410-0.';
    assert.deepEqual(new PiiScanner().scan(decoys), []);
  });
});
