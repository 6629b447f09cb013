import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isIsbn13, phoneDetector } from '../../src/pii/detectors/phone.js';

const phones = (text: string) =>
  phoneDetector()
    .detect(text)
    .map((s) => s.value);

describe('phone detector and business numbers', () => {
  it('leaves ISBNs, amounts with no-break spaces and reference numbers alone', () => {
    assert.equal(isIsbn13('978-1-288-45154-8'), true);
    assert.equal(isIsbn13('978-1-288-45154-7'), false);
    for (const text of [
      'Mesa de Madeira (978-1-288-45154-8) 29\u00a0525,16\u00a0€, 29/07/2024',
      'Total € 1 234 567, paid',
      'Caller Elliott Stanton (purchase 724205445) phoned in from Leeds',
      'Die Anruferin (Auftrag #4017800) meldete sich',
    ]) {
      assert.deepEqual(phones(text), [], text);
    }
  });

  it('still finds phone numbers after a cue, a person word or "#"', () => {
    assert.deepEqual(phones('Please call customer 0171 2345678 today'), ['0171 2345678']);
    assert.deepEqual(phones('phone #: 030 1234567'), ['030 1234567']);
    assert.deepEqual(phones('ISBN 978-1-288-45154-8, mobile +49 171 2345678'), ['+49 171 2345678']);
  });
});
