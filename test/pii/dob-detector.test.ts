import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dateOfBirthDetector } from '../../src/pii/detectors/date-of-birth.js';
import { assertFinds, valuesFoundBy } from './detector-cases.js';

const found = valuesFoundBy(dateOfBirthDetector());

describe('date of birth detector', () => {
  it('finds dates after a birth cue in seven languages', () => {
    assertFinds(
      found,
      `
      Anna, born 12 March 1985, called → 12 March 1985
      DOB: 1985-03-12 → 1985-03-12
      date of birth: March 12, 1985 → March 12, 1985
      Kunde, geboren am 12.03.1985, rief an → 12.03.1985
      Geburtsdatum: 12. März 1985 → 12. März 1985
      née le 3 mars 1990 à Lyon → 3 mars 1990
      nacido el 3 de marzo de 1985 → 3 de marzo de 1985
      fecha de nacimiento: 03/03/1985 → 03/03/1985
      nata il 12/03/1985 a Roma → 12/03/1985
      data di nascita 12 maggio 1985 → 12 maggio 1985
      geboren op 12-03-1985 → 12-03-1985
      geboortedatum: 12 maart 1985 → 12 maart 1985
      nascido em 12/03/1985 → 12/03/1985
      data de nascimento: 12 de março de 1985 → 12 de março de 1985
    `,
    );
  });

  it('takes a whole JSON value under a birth-date key', () => {
    assert.deepEqual(found('1985-03-12', 'birthDate'), ['1985-03-12']);
    assert.deepEqual(found('{"dob": "12/03/1985"}'), ['12/03/1985']);
  });

  it('leaves other dates and numbers alone', () => {
    for (const text of [
      'Rechnung vom 12.03.2025, fällig 2025-04-12',
      'invoice date 2025-03-12, delivered March 14, 2025',
      'Born in the USA (1984), version 1.2.1985',
      'b. 12 units shipped 12.03.2025',
      'created 2025-03-12T10:00:00Z',
    ]) {
      assert.deepEqual(found(text), [], text);
    }
  });
});
