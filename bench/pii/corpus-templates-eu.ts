/**
 * Templates for names in context, addresses, dates of birth, national identifiers and business decoys
 * in nine faker locales (en_US, en_GB, de, fr, es, nl, it, pt_PT, pt_BR). Phrases are written per
 * language as a support agent or a CRM export would write them, not from the detectors' cue lists.
 * `EU_DEV_TEMPLATES` may be looked at while developing; `EU_HELDOUT_TEMPLATES` use other phrases and
 * are only measured. Decoys are labelled `DECOY_<KIND>` so that their kept-rate can be scored.
 */
import type { DocBuilder, LabelledJson } from './corpus-builder.js';
import type { EuCorpusValues } from './corpus-values-eu.js';

export type EuTemplate = (b: DocBuilder, v: EuCorpusValues) => void;

const pii = (cls: string, value: string): LabelledJson => ({ pii: cls, value });

/** Per-language phrases: [customer noun, "called from", order noun, "lives at", "born", "ID"]. */
interface Phrases {
  customer: string;
  calledFrom: string;
  order: string;
  livesAt: string;
  born: string;
  about: string;
  invoice: string;
}

const DEV: Record<string, Phrases> = {
  en_US: {
    customer: 'Customer',
    calledFrom: 'called from',
    order: 'order',
    livesAt: 'lives at',
    born: 'born',
    about: 'about',
    invoice: 'invoice',
  },
  en_GB: {
    customer: 'Customer',
    calledFrom: 'rang from',
    order: 'order',
    livesAt: 'resides at',
    born: 'DOB',
    about: 'regarding',
    invoice: 'invoice',
  },
  de: {
    customer: 'Kunde',
    calledFrom: 'rief aus',
    order: 'Bestellung',
    livesAt: 'wohnhaft in',
    born: 'geboren am',
    about: 'wegen',
    invoice: 'Rechnung',
  },
  fr: {
    customer: 'Le client',
    calledFrom: 'a appelé depuis',
    order: 'commande',
    livesAt: 'domicilié au',
    born: 'né le',
    about: 'au sujet de',
    invoice: 'facture',
  },
  es: {
    customer: 'El cliente',
    calledFrom: 'llamó desde',
    order: 'pedido',
    livesAt: 'con domicilio en',
    born: 'nacido el',
    about: 'sobre',
    invoice: 'factura',
  },
  nl: {
    customer: 'Klant',
    calledFrom: 'belde vanuit',
    order: 'bestelling',
    livesAt: 'woonachtig aan de',
    born: 'geboren op',
    about: 'over',
    invoice: 'factuur',
  },
  it: {
    customer: 'Il cliente',
    calledFrom: 'ha chiamato da',
    order: 'ordine',
    livesAt: 'residente in',
    born: 'nato il',
    about: 'riguardo',
    invoice: 'fattura',
  },
  pt_PT: {
    customer: 'O cliente',
    calledFrom: 'ligou de',
    order: 'encomenda',
    livesAt: 'residente na',
    born: 'nascido em',
    about: 'sobre',
    invoice: 'fatura',
  },
  pt_BR: {
    customer: 'O cliente',
    calledFrom: 'ligou de',
    order: 'pedido',
    livesAt: 'morador da',
    born: 'nascido em',
    about: 'sobre',
    invoice: 'nota fiscal',
  },
};

const HELDOUT: Record<string, Phrases> = {
  en_US: {
    customer: 'Caller',
    calledFrom: 'phoned in from',
    order: 'purchase',
    livesAt: 'mailing address',
    born: 'date of birth',
    about: 'concerning',
    invoice: 'bill',
  },
  en_GB: {
    customer: 'Account holder',
    calledFrom: 'got in touch from',
    order: 'booking',
    livesAt: 'registered address',
    born: 'born on',
    about: 'about',
    invoice: 'statement',
  },
  de: {
    customer: 'Die Anruferin',
    calledFrom: 'meldete sich aus',
    order: 'Auftrag',
    livesAt: 'Anschrift:',
    born: 'Geburtsdatum:',
    about: 'bezüglich',
    invoice: 'Beleg',
  },
  fr: {
    customer: 'Notre abonnée',
    calledFrom: 'a téléphoné de',
    order: 'dossier',
    livesAt: 'adresse :',
    born: 'née le',
    about: 'concernant',
    invoice: 'avoir',
  },
  es: {
    customer: 'La titular',
    calledFrom: 'se comunicó desde',
    order: 'expediente',
    livesAt: 'dirección:',
    born: 'fecha de nacimiento:',
    about: 'respecto a',
    invoice: 'albarán',
  },
  nl: {
    customer: 'Mevrouw',
    calledFrom: 'nam contact op vanuit',
    order: 'dossier',
    livesAt: 'adres:',
    born: 'geboortedatum:',
    about: 'inzake',
    invoice: 'nota',
  },
  it: {
    customer: 'La signora',
    calledFrom: 'ci ha contattati da',
    order: 'pratica',
    livesAt: 'indirizzo:',
    born: 'data di nascita:',
    about: 'circa',
    invoice: 'ricevuta',
  },
  pt_PT: {
    customer: 'A titular',
    calledFrom: 'contactou-nos de',
    order: 'processo',
    livesAt: 'morada:',
    born: 'data de nascimento:',
    about: 'acerca de',
    invoice: 'recibo',
  },
  pt_BR: {
    customer: 'A correntista',
    calledFrom: 'entrou em contato de',
    order: 'protocolo',
    livesAt: 'endereço:',
    born: 'data de nascimento:',
    about: 'a respeito de',
    invoice: 'boleto',
  },
};

const ph = (pool: Record<string, Phrases>, v: EuCorpusValues): Phrases =>
  pool[v.locale] ?? (pool.en_US as Phrases);

/** Decoys written into prose: each labelled so that the benchmark knows it must survive. */
function decoys(b: DocBuilder, v: EuCorpusValues, p: Phrases): void {
  b.text(` ${p.invoice} `)
    .pii('DECOY_INVOICE', v.invoiceNo())
    .text(`, ${p.order} `)
    .pii('DECOY_ORDER', v.orderId());
  b.text(', ').pii('DECOY_PRODUCT', v.product()).text(' (').pii('DECOY_SKU', v.sku()).text(') ');
  b.pii('DECOY_AMOUNT', v.price()).text(', ').pii('DECOY_DATE', v.businessDate()).text(', app ');
  b.pii('DECOY_VERSION', v.version()).text(', ').pii('DECOY_CITY', v.city()).text('.');
}

/** "Customer <name> (order …) called from <city> about <product>" in the locale's words. */
function callSummary(b: DocBuilder, v: EuCorpusValues, p: Phrases): void {
  b.text(`${p.customer} `).pii('NAME', v.personName()).text(` (${p.order} `).pii('DECOY_ORDER', v.orderId());
  b.text(`) ${p.calledFrom} `)
    .pii('DECOY_CITY', v.city())
    .text(` ${p.about} `)
    .pii('DECOY_PRODUCT', v.product());
}

export const EU_DEV_TEMPLATES: readonly EuTemplate[] = [
  // "Customer <given> <family> (…) called from …"
  (b, v) => {
    const p = ph(DEV, v);
    callSummary(b, v, p);
    b.text('. ');
    decoys(b, v, p);
  },
  // Titles, address and date of birth in one note.
  (b, v) => {
    const p = ph(DEV, v);
    b.text(`${v.title()} `).pii('NAME', v.personName()).text(`, ${p.born} `).pii('DOB', v.birthDate());
    b.text(`, ${p.livesAt} `).pii('ADDRESS', v.address()).text('.');
    decoys(b, v, p);
  },
  // National identifier in prose.
  (b, v) => {
    const p = ph(DEV, v);
    const id = v.nationalId();
    b.pii('NAME', v.personName()).text(` — ${id.label}: `).pii(id.cls, id.value);
    b.text(`; ${p.invoice} `).pii('DECOY_INVOICE', v.invoiceNo()).text(` (${v.badDni()} rejected).`);
  },
  // JSON customer record.
  (b, v) => {
    const first = v.firstName();
    const last = v.compoundLastName();
    const id = v.nationalId();
    b.json({
      customerId: v.orderId(),
      firstName: pii('NAME', first),
      lastName: pii('NAME', last),
      birthDate: pii('DOB', v.birthDate()),
      nationalId: pii(id.cls, id.value),
      address: {
        street: pii('ADDRESS', v.f.location.streetAddress()),
        zip: pii('POSTCODE', v.postcode()),
        city: pii('DECOY_CITY', v.city()),
      },
      lastInvoice: pii('DECOY_INVOICE', v.invoiceNo()),
      total: pii('DECOY_AMOUNT', v.price()),
    });
  },
  // JSON order lines.
  (b, v) => {
    b.json({
      order: pii('DECOY_ORDER', v.orderId()),
      placed: pii('DECOY_DATE', v.businessDate()),
      contact: pii('NAME', v.personName()),
      lines: [0, 1].map(() => ({
        sku: pii('DECOY_SKU', v.sku()),
        product: pii('DECOY_PRODUCT', v.product()),
        price: pii('DECOY_AMOUNT', v.price()),
      })),
      client: pii('DECOY_VERSION', v.version()),
    });
  },
];

export const EU_HELDOUT_TEMPLATES: readonly EuTemplate[] = [
  // Call summary.
  (b, v) => {
    const p = ph(HELDOUT, v);
    callSummary(b, v, p);
    b.text(`; ${p.born} `).pii('DOB', v.birthDate()).text('.');
    decoys(b, v, p);
  },
  // Address change form in lines.
  (b, v) => {
    const p = ph(HELDOUT, v);
    const id = v.nationalId();
    b.pii('NAME', `${v.firstName()} ${v.compoundLastName()}`)
      .text(`\n${p.livesAt} `)
      .pii('ADDRESS', v.address());
    b.text(`\n${id.label} `).pii(id.cls, id.value).text('\n');
    decoys(b, v, p);
  },
  // Titled names in a list.
  (b, v) => {
    const p = ph(HELDOUT, v);
    b.text(`${v.title()} `)
      .pii('NAME', v.personName())
      .text(', ')
      .text(`${v.title()} `)
      .pii('NAME', v.personName());
    b.text(` & ${v.title()} `)
      .pii('NAME', v.personName())
      .text(` — ${p.order} `)
      .pii('DECOY_ORDER', v.orderId());
    b.text(', ').pii('DECOY_AMOUNT', v.price()).text('.');
  },
  // JSON CRM export.
  (b, v) => {
    const id = v.nationalId();
    b.json({
      records: [
        {
          full_name: pii('NAME', v.personName()),
          dob: pii('DOB', v.birthDate()),
          taxId: pii(id.cls, id.value),
          street_address: pii('ADDRESS', v.f.location.streetAddress(true)),
          postal_code: pii('POSTCODE', v.postcode()),
          town: pii('DECOY_CITY', v.city()),
          plan: pii('DECOY_PRODUCT', v.product()),
          since: pii('DECOY_DATE', v.businessDate()),
        },
      ],
      exportedBy: pii('DECOY_VERSION', `crm-export ${v.version()}`),
    });
  },
  // JSON invoice.
  (b, v) => {
    b.json({
      invoiceNumber: pii('DECOY_INVOICE', v.invoiceNo()),
      issued: pii('DECOY_DATE', v.businessDate()),
      billTo: {
        name: pii('NAME', v.personName()),
        address: pii('ADDRESS', v.address().replace(/\n/g, ', ')),
      },
      items: [
        {
          sku: pii('DECOY_SKU', v.sku()),
          description: pii('DECOY_PRODUCT', v.product()),
          amount: pii('DECOY_AMOUNT', v.price()),
        },
      ],
      orderRef: pii('DECOY_ORDER', v.orderId()),
    });
  },
];
