import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nameDetector } from '../../src/pii/detectors/name.js';
import { assertFinds, valuesFoundBy } from './detector-cases.js';

const names = valuesFoundBy(nameDetector());

describe('name detector across languages', () => {
  it('finds "Customer <given> <family> (…) called from …" and its translations', () => {
    assertFinds(
      names,
      `
      Customer Homer Welch (order VO3911624494) called from Leeds about a refund. → Homer Welch
      Customer Maye Effertz-Bergnaum (order 761162657) called from Berlin. → Maye Effertz-Bergnaum
      Kunde Karl Lindner (Bestellung 8184390) rief aus Köln an. → Karl Lindner
      Le client Jean-Luc Moreau (commande 4471) a appelé depuis Lyon. → Jean-Luc Moreau
      El cliente Rafael Ortega Ruiz (pedido 5512) llamó desde Sevilla. → Rafael Ortega Ruiz
      Il cliente Ottone Picchi (ordine ORD-2860369) ha chiamato da Bari. → Ottone Picchi
      Klant Jette van Iersel (bestelling ORD-331) belde vanuit Utrecht. → Jette van Iersel
      O cliente João dos Santos (encomenda 8812) ligou de Braga. → João dos Santos
    `,
    );
  });

  it('follows titles, particles, compound surnames and suffixes', () => {
    assertFinds(
      names,
      `
      Please call Mr. John Smith Jr. tomorrow. → John Smith Jr
      Termin mit Frau Dr. Anna von der Heyde am Montag. → Anna von der Heyde
      Rendez-vous avec Mme Sophie Le Gall demain. → Sophie Le Gall
      Atendido por Sra. María del Carmen García-Pérez ayer. → María del Carmen García-Pérez
      Parlato con Dott.ssa Giulia Di Stefano oggi. → Giulia Di Stefano
      Afspraak met dhr. Pieter de Vries morgen. → Pieter de Vries
      Contacto: Sr. Bárbara Torres e Figueiredo. → Bárbara Torres e Figueiredo
      Dhr. Rafael de van den Velde, geboren op 2005-04-01 → Rafael de van den Velde
      Por favor llama a Isabel Prieto Carbajal mañana. → Isabel Prieto Carbajal
    `,
    );
  });

  it('finds names in JSON fields, also when the whole record is one string', () => {
    assert.deepEqual(names('{"firstName": "Ilayda", "lastName": "von der Normann"}'), [
      'Ilayda',
      'von der Normann',
    ]);
    assert.deepEqual(names('{"id": 8, "name": "Lisann Hackelbusch", "email": "l@example.de"}'), [
      'Lisann Hackelbusch',
    ]);
    assert.deepEqual(names('van der Wal', 'lastName'), ['van der Wal']);
    assert.deepEqual(names('Jorge Araújo e Neves', 'full_name'), ['Jorge Araújo e Neves']);
    assert.deepEqual(names('{"contact": "Jorge Araújo e Neves", "lines": []}'), ['Jorge Araújo e Neves']);
  });

  it('leaves product names, firms, cities and streets alone', () => {
    for (const text of [
      'order 532369419, Gorgeous Plastic Chips (SKU-61156) $4,597.00',
      '{"sku": "SKU-1", "name": "Ergonomic Steel Chair", "price": "12.00"}',
      'Shipped to Nordwind Logistik GmbH in Hamburg.',
      'Delivered to Berlin, then Paris and Rotterdam.',
      'The warehouse on Baker Street ships version 2.3.1.',
      'Invoice INV-2025-0042 for Schmidt & Partner, due 2025-03-12.',
    ]) {
      assert.deepEqual(names(text), [], text);
    }
  });
});
