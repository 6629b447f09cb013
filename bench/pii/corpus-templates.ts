/**
 * Document templates of the labelled corpus: support e-mails, CRM notes, chat logs, incident reports,
 * HR and payment records, config snippets, and JSON API payloads. The templates come in two disjoint
 * pools: `dev` (what the detectors were developed against) and `heldout` (written separately and only
 * measured), so the reported figures show how the detectors generalise beyond the phrasing they saw.
 */
import type { DocBuilder, LabelledJson } from './corpus-builder.js';
import type { CorpusValues } from './corpus-values.js';

export type Template = (b: DocBuilder, v: CorpusValues) => void;

const pii = (cls: string, value: string): LabelledJson => ({ pii: cls, value });

/** Greeting, sign-off and a few connecting words per locale. */
const WORDS: Record<string, { hi: string; regards: string; call: string; about: string }> = {
  en_US: { hi: 'Hi', regards: 'Best regards,', call: 'Please call', about: 'about' },
  en_GB: { hi: 'Dear', regards: 'Kind regards,', call: 'Please ring', about: 'regarding' },
  de: { hi: 'Hallo', regards: 'Viele Grüße', call: 'Bitte ruf', about: 'wegen' },
  fr: { hi: 'Bonjour', regards: 'Cordialement,', call: 'Merci d’appeler', about: 'au sujet de' },
  es: { hi: 'Hola', regards: 'Saludos,', call: 'Por favor llama a', about: 'sobre' },
  nl: { hi: 'Beste', regards: 'Met vriendelijke groet,', call: 'Bel alsjeblieft', about: 'over' },
  it: { hi: 'Ciao', regards: 'Cordiali saluti,', call: 'Per favore chiama', about: 'riguardo' },
};
const words = (v: CorpusValues) => WORDS[v.locale] ?? (WORDS.en_US as (typeof WORDS)['en_US']);

export const DEV_TEMPLATES: readonly Template[] = [
  // Support e-mail with greeting, contact details and a signature.
  (b, v) => {
    const w = words(v);
    const first = v.firstName();
    const last = v.lastName();
    b.text(`${w.hi} `).pii('NAME', `${first} ${last}`).text(',\n\n');
    b.text(`Thanks for your message ${w.about} order ${v.orderNumber()} from ${v.date()}. `);
    b.text('We updated your contact e-mail to ').pii('EMAIL', v.email(first, last));
    b.text(' and the phone number on file is now ').pii('PHONE', v.phone()).text('. ');
    b.text(`${v.sentence()}\n\n${w.regards}\n`).pii('NAME', v.fullName()).text(`\n${v.company()}\n`);
  },
  // CRM note with payment details and distractors.
  (b, v) => {
    b.text(`Note ${v.date()}: spoke with `).pii('NAME', v.fullName());
    b.text(` (${v.company()}, ${v.city()}). Refund of ${v.amount()} EUR goes to IBAN `).pii('IBAN', v.iban());
    b.text(`; the old card ending in ${v.badCard().slice(-4)} was replaced by `).pii('CARD', v.card());
    b.text(`. Ticket ${v.orderNumber()}, build ${v.technicalId()}.`);
  },
  // Chat log.
  (b, v) => {
    const agent = v.fullName();
    const customer = v.fullName();
    b.text('[10:02] ').pii('NAME', agent).text(': how can I help?\n');
    b.text('[10:03] ').pii('NAME', customer).text(`: my card `).pii('CARD', v.card());
    b.text(` was charged twice, order ${v.orderNumber()}\n`);
    b.text('[10:05] ').pii('NAME', agent).text(': I see it. Can you confirm your email? \n');
    b.text('[10:06] ').pii('NAME', customer).text(': sure, ').pii('EMAIL', v.email()).text('\n');
  },
  // Incident report with IPs and a leaked secret.
  (b, v) => {
    b.text(`Incident ${v.orderNumber()} at ${v.date()}: repeated logins from `).pii('IP', v.ip());
    b.text(' and ').pii('IP', v.ip()).text(` against ${v.url()}. `);
    b.text('The deploy log contained a credential: ').pii('SECRET', v.secret());
    b.text(`. Rotated by `)
      .pii('NAME', v.fullName())
      .text(`. Commit ${v.technicalId()}, version ${v.technicalId()}.`);
  },
  // HR record in prose, US and UK identifiers.
  (b, v) => {
    b.text('Employee file: ').pii('NAME', v.fullName()).text(', SSN ').pii('SSN', v.ssn());
    b.text(', NI number ').pii('NINO', v.nino()).text(`, started ${v.date()}, salary ${v.amount()}. `);
    b.text(`Emergency contact `).pii('NAME', v.fullName()).text(' on ').pii('PHONE', v.phone()).text('.');
  },
  // Invoice text with look-alikes.
  (b, v) => {
    b.text(`Invoice ${v.orderNumber()} for ${v.company()}, `);
    b.pii('ADDRESS', `${v.street()}, ${v.postcode()} ${v.city()}`).text('.\n');
    b.text(`Total ${v.amount()} due ${v.date()}. Pay to `).pii('IBAN', v.iban());
    b.text(`. Reference ${v.luhnNoIin()}. Not valid: ${v.badIban()}, ${v.badSsn()}.\n`);
    b.text(`Questions: `).pii('EMAIL', v.email()).text('\n');
  },
  // JSON customer record.
  (b, v) => {
    const first = v.firstName();
    const last = v.lastName();
    b.json({
      id: Number(v.f.string.numeric(5)),
      name: pii('NAME', `${first} ${last}`),
      company: v.company(),
      email: pii('EMAIL', v.email(first, last)),
      phone: pii('PHONE', v.phone()),
      payment: { cardNumber: pii('CARD', v.card()), iban: pii('IBAN', v.iban()) },
      address: {
        street: pii('ADDRESS', v.street()),
        postalCode: pii('POSTCODE', v.postcode()),
        city: v.city(),
      },
      createdAt: v.date(),
      lastOrder: v.orderNumber(),
    });
  },
  // JSON audit events.
  (b, v) => {
    b.json({
      events: [
        {
          at: v.date(),
          actor: pii('NAME', v.fullName()),
          ip: pii('IP', v.ip()),
          action: 'login',
          id: v.technicalId(),
        },
        { at: v.date(), actor: pii('EMAIL', v.email()), action: 'export', rows: v.f.number.int(5000) },
      ],
      token: pii('SECRET', v.secret()),
    });
  },
  // Config snippet.
  (b, v) => {
    b.text(`# service config (${v.technicalId()})\nhost: ${v.url()}\napi_key: `).pii('SECRET', v.secret());
    b.text(`\nowner_email: `)
      .pii('EMAIL', v.email())
      .text(`\ntimeout: ${v.f.number.int(120)}\n`);
  },
  // Meeting notes.
  (b, v) => {
    b.text(`Meeting ${v.date()} — attendees: `)
      .pii('NAME', v.fullName())
      .text(', ')
      .pii('NAME', v.fullName());
    b.text(' and ').pii('NAME', v.fullName()).text(`. ${v.sentence()} `);
    b.text(`Action: ${words(v).call} `)
      .pii('NAME', v.fullName())
      .text(' at ')
      .pii('PHONE', v.phone());
    b.text(`. Budget ${v.amount()}. ${v.product()} ships ${v.date()}.`);
  },
];

export const HELDOUT_TEMPLATES: readonly Template[] = [
  // Forwarded complaint.
  (b, v) => {
    const first = v.firstName();
    const last = v.lastName();
    b.text(`From: `)
      .pii('NAME', `${first} ${last}`)
      .text(' <')
      .pii('EMAIL', v.email(first, last))
      .text('>\n');
    b.text(`Subject: Re: ${v.product()}\n\nI was billed ${v.amount()} twice on card `).pii('CARD', v.card());
    b.text(`. ${v.sentence()}. You can reach me on `)
      .pii('PHONE', v.phone())
      .text(` after ${v.technicalId()}.\n`);
  },
  // Bank transfer confirmation.
  (b, v) => {
    b.text(`Transfer ${v.orderNumber()} of ${v.amount()} from `).pii('IBAN', v.iban());
    b.text(' to ').pii('IBAN', v.iban()).text(` was executed on ${v.date()}. Beneficiary: `);
    b.text(`${v.prefix()} `).pii('NAME', v.fullName()).text(`. Our ref ${v.luhnNoIin()}.`);
  },
  // Delivery note.
  (b, v) => {
    b.text(`Parcel ${v.technicalId()} for `)
      .pii('NAME', v.fullName())
      .text(', ')
      .pii('ADDRESS', `${v.street()}, ${v.postcode()} ${v.city()}`)
      .text('. ');
    b.text('Driver will phone ').pii('PHONE', v.phone()).text(` between ${v.technicalId()} and noon. `);
    b.text(`Sender ${v.company()}.`);
  },
  // Payroll export lines.
  (b, v) => {
    for (let i = 0; i < 3; i++) {
      b.pii('NAME', v.fullName()).text(' | ').pii('SSN', v.ssn()).text(` | ${v.amount()} | `);
      b.pii('IBAN', v.iban()).text('\n');
    }
    b.text(`rejected rows: ${v.badSsn()}, ${v.badCard()}\n`);
  },
  // UK tenancy form.
  (b, v) => {
    b.text('Tenant: ').pii('NAME', v.fullName()).text('\nNational Insurance: ').pii('NINO', v.nino());
    b.text('\nMobile: ').pii('PHONE', v.phone()).text('\nE-mail: ').pii('EMAIL', v.email());
    b.text(`\nMove-in: ${v.date()}\nDeposit: ${v.amount()}\n`);
  },
  // Security alert.
  (b, v) => {
    b.text(`ALERT ${v.date()} user `).pii('EMAIL', v.email()).text(' signed in from ').pii('IP', v.ip());
    b.text(`; previous session ${v.technicalId()} from `).pii('IP', v.ip()).text('. Token in request: ');
    b.pii('SECRET', v.secret()).text(`. Reviewed by `).pii('NAME', v.fullName()).text('.');
  },
  // Sales chat in prose.
  (b, v) => {
    const w = words(v);
    b.text(`${w.hi} `).pii('NAME', v.firstName()).text(`! ${v.sentence()}. `);
    b.text(`My colleague `)
      .pii('NAME', v.fullName())
      .text(` will send the quote for ${v.product()} (${v.amount()}). `);
    b.text(`${w.regards} `).pii('NAME', v.fullName());
  },
  // JSON order with nested customer.
  (b, v) => {
    const first = v.firstName();
    const last = v.lastName();
    b.json({
      orderId: v.orderNumber(),
      placedAt: v.date(),
      customer: {
        firstName: pii('NAME', first),
        lastName: pii('NAME', last),
        contactEmail: pii('EMAIL', v.email(first, last)),
        mobile: pii('PHONE', v.phone()),
      },
      billing: { method: 'card', pan: pii('CARD', v.card()), amount: v.amount() },
      items: [
        { sku: v.orderNumber(), title: v.product(), qty: v.f.number.int(9) },
        { sku: v.orderNumber(), title: v.product(), qty: v.f.number.int(9) },
      ],
      trace: v.technicalId(),
    });
  },
  // JSON employee directory page.
  (b, v) => {
    b.json({
      page: 1,
      results: [0, 1, 2].map(() => ({
        displayName: pii('NAME', v.fullName()),
        workPhone: pii('PHONE', v.phone()),
        office: v.city(),
        ssn: pii('SSN', v.ssn()),
      })),
      apiToken: pii('SECRET', v.secret()),
    });
  },
  // Log lines.
  (b, v) => {
    b.text(`${v.date()} INFO request id=${v.technicalId()} client=`).pii('IP', v.ip()).text(' status=200\n');
    b.text(`${v.date()} WARN login failed for `)
      .pii('EMAIL', v.email())
      .text(` attempts=${v.f.number.int(9)}\n`);
    b.text(`${v.date()} DEBUG Authorization: Bearer `).pii('SECRET', v.secret()).text('\n');
  },
];
