import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressDetector } from '../../src/pii/detectors/address.js';
import { PiiScanner } from '../../src/pii/pii-scanner.js';

const found = (text: string, key?: string) =>
  addressDetector()
    .detect(text, key === undefined ? undefined : { key })
    .map((s) => `${s.class}:${s.value}`);
const scanned = (text: string) => new PiiScanner().scan(text).map((s) => `${s.class}:${s.value}`);

describe('address detector', () => {
  it('finds street and number in seven languages', () => {
    for (const street of [
      'Hauptstraße 12',
      'Clemens-Winkler-Str. 29c',
      'Kleinheider Weg 32a',
      '12 rue de la Paix',
      "8 Quai d'Orsay",
      'Calle Mayor 5',
      'Avenida de la Constitución, 23',
      'Via Roma 10',
      'Piazza San Marco 1',
      'Kerkstraat 3',
      'van de Veenstraat 157a',
      'Rua Augusta 100',
      'Avenida Vânia Medeiros 89',
      '221B Baker Street',
      '82946 N Court Street',
    ]) {
      assert.deepEqual(found(`Please ship it to ${street} today.`), [`ADDRESS:${street}`], street);
    }
  });

  it('takes the unit, the postcode and the town that follow the street', () => {
    assert.deepEqual(found('Hauptstraße 12, 10115 Berlin.'), ['ADDRESS:Hauptstraße 12, 10115 Berlin']);
    assert.deepEqual(found('Kerkstraat 3, 1012 AB Amsterdam'), ['ADDRESS:Kerkstraat 3, 1012 AB Amsterdam']);
    assert.deepEqual(found('Rua Augusta 100, 1100-053 Lisboa'), ['ADDRESS:Rua Augusta 100, 1100-053 Lisboa']);
    assert.deepEqual(found('221B Baker Street, London NW1 6XE'), [
      'ADDRESS:221B Baker Street, London NW1 6XE',
    ]);
    assert.deepEqual(found('4 Elm Road Apt. 12, Springfield, IL 62704'), [
      'ADDRESS:4 Elm Road Apt. 12, Springfield, IL 62704',
    ]);
    assert.deepEqual(found('Sección Sofía, 67 3º B'), ['ADDRESS:Sección Sofía, 67 3º B']);
    assert.deepEqual(found('Via Eufronio 41, Piano 6, 06218 Paola'), [
      'ADDRESS:Via Eufronio 41, Piano 6, 06218 Paola',
    ]);
  });

  it('finds postcodes alone only after a postcode cue', () => {
    assert.deepEqual(found('PLZ: 10115'), ['POSTCODE:10115']);
    assert.deepEqual(found('{"postalCode": "23119"}'), ['POSTCODE:23119']);
    assert.deepEqual(found('zip 94105-1234'), ['POSTCODE:94105-1234']);
    assert.deepEqual(found('23119', 'postalCode'), ['POSTCODE:23119']);
    assert.deepEqual(found('order 10115 for Berlin, 12345 units, 1234 AB'), []);
  });

  it('takes labelled and keyed street values that hold a number', () => {
    assert.deepEqual(found('{"street": "Colegio Patricio s/n"}'), ['ADDRESS:Colegio Patricio s/n']);
    assert.deepEqual(found('Schöne Aussicht 95', 'street'), ['ADDRESS:Schöne Aussicht 95']);
    assert.deepEqual(found('Main office', 'address'), []);
  });

  it('leaves business decoys alone', () => {
    const decoys = [
      'Invoice INV-2025-0042 for Acme GmbH in Berlin, total 1.234,56 €.',
      'Order #1234567 shipped 2025-03-12 from Hamburg; SKU-10001 x 3.',
      'Platz 1 im Wettbewerb, Weg 3 der Anleitung, Model 3, version 2.3.1.',
      'Heidelberg 2025 conference, Paris 2024, 5 Green Apples, 3 Small Wooden Chairs.',
      'Rechnung vom 12.03.2025, Kundennummer 10115, Artikel 4711.',
    ];
    for (const d of decoys) assert.deepEqual(found(d), [], d);
  });

  it('does not swallow a phone number that follows the street', () => {
    assert.deepEqual(scanned('Hauptstraße 12, 0171 2345678'), [
      'ADDRESS:Hauptstraße 12',
      'PHONE:0171 2345678',
    ]);
  });
});
