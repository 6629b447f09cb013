/**
 * More corpus values: European national identifiers with their check characters (computed here from
 * the published rules, independently of the detectors' code), postal addresses and dates of birth in
 * the locale's own format (faker and `Intl.DateTimeFormat`), names with titles, particles, compound
 * surnames and suffixes, and labelled business decoys (invoice and order numbers, SKUs, amounts,
 * product names, cities, versions, dates) that must survive redaction.
 */
import { CorpusValues } from './corpus-values.js';

const DNI_LETTERS = 'TRWAGMYFPDXBNJZSQVHLCKE';
const CF_ODD = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];
const CF_MONTHS = 'ABCDEHLMPRST';

/** BCP 47 tag of a corpus locale, for `Intl`. */
const INTL: Record<string, string> = {
  en_US: 'en-US',
  en_GB: 'en-GB',
  de: 'de-DE',
  fr: 'fr-FR',
  es: 'es-ES',
  nl: 'nl-NL',
  it: 'it-IT',
  pt_PT: 'pt-PT',
  pt_BR: 'pt-BR',
};

/** Titles people write before a name, per locale (not part of the labelled name). */
const TITLES: Record<string, string[]> = {
  en_US: ['Mr.', 'Mrs.', 'Ms.', 'Dr.', 'Mr', 'Prof.'],
  en_GB: ['Mr', 'Mrs', 'Ms', 'Miss', 'Dr'],
  de: ['Herr', 'Frau', 'Dr.', 'Herrn', 'Prof. Dr.'],
  fr: ['M.', 'Mme', 'Mlle', 'Dr', 'Maître'],
  es: ['Sr.', 'Sra.', 'D.', 'Dña.', 'Dr.'],
  nl: ['Dhr.', 'Mevr.', 'dhr.', 'mevr.', 'Dr.'],
  it: ['Sig.', 'Sig.ra', 'Dott.', 'Dott.ssa', 'Avv.'],
  pt_PT: ['Sr.', 'Sra.', 'Dr.', 'Dra.', 'Eng.'],
  pt_BR: ['Sr.', 'Sra.', 'Dr.', 'Dra.'],
};

/** How a family name grows in each language: particles, double and hyphenated surnames. */
const SURNAME_FORMS: Record<string, ((a: string, b: string) => string)[]> = {
  en_US: [(a) => `${a} Jr.`, (a) => `${a} III`, (a, b) => `${a}-${b}`],
  en_GB: [(a, b) => `${a}-${b}`, (a) => `O'${a}`],
  de: [(a) => `von ${a}`, (a, b) => `${a}-${b}`, (a) => `von der ${a}`],
  fr: [(a) => `de ${a}`, (a, b) => `${a}-${b}`, (a) => `Le ${a}`, (a) => `du ${a}`],
  es: [(a, b) => `${a} ${b}`, (a, b) => `${a} del ${b}`, (a, b) => `${a} de la ${b}`],
  nl: [(a) => `van der ${a}`, (a) => `de ${a}`, (a) => `van ${a}`, (a) => `ter ${a}`],
  it: [(a) => `Di ${a}`, (a) => `De ${a}`, (a) => `Dal ${a}`, (a) => `Della ${a}`],
  pt_PT: [(a, b) => `${a} ${b}`, (a, b) => `${a} da ${b}`, (a) => `dos ${a}`, (a, b) => `${a} e ${b}`],
  pt_BR: [(a, b) => `${a} ${b}`, (a, b) => `${a} da ${b}`, (a) => `dos ${a}`],
};

export class EuCorpusValues extends CorpusValues {
  private pick<T>(list: readonly T[]): T {
    return this.f.helpers.arrayElement(list as T[]);
  }

  // ----- names -----

  title(): string {
    return this.pick(TITLES[this.locale] ?? TITLES.en_US ?? ['Mr']);
  }
  /** A family name with a particle, a second surname, a hyphen or a suffix, as the locale writes them. */
  compoundLastName(): string {
    const form = this.pick(SURNAME_FORMS[this.locale] ?? SURNAME_FORMS.en_US ?? []);
    return form(this.lastName(), this.lastName());
  }
  /** A given name and family name, sometimes compound. */
  personName(): string {
    return this.f.datatype.boolean(0.35) ? `${this.firstName()} ${this.compoundLastName()}` : this.fullName();
  }

  // ----- national identifiers -----

  dni(): string {
    const n = this.f.number.int({ min: 1_000_000, max: 99_999_999 });
    const body = String(n).padStart(8, '0');
    return `${body}${DNI_LETTERS[n % 23]}`;
  }
  nie(): string {
    const prefix = this.pick(['X', 'Y', 'Z']);
    const digits = this.f.string.numeric(7);
    const n = Number(`${'XYZ'.indexOf(prefix)}${digits}`);
    return `${prefix}${digits}${DNI_LETTERS[n % 23]}`;
  }
  codiceFiscale(): string {
    const letters = () => this.f.string.alpha({ length: 3, casing: 'upper' });
    const year = this.f.string.numeric(2);
    const day = this.f.number.int({ min: 1, max: 31 }) + (this.f.datatype.boolean() ? 40 : 0);
    const place = `${this.f.string.alpha({ length: 1, casing: 'upper' })}${this.f.string.numeric(3)}`;
    const body = `${letters()}${letters()}${year}${this.pick([...CF_MONTHS])}${String(day).padStart(2, '0')}${place}`;
    let sum = 0;
    for (let i = 0; i < 15; i++) {
      const c = body.charCodeAt(i);
      const v = c <= 57 ? c - 48 : c - 65;
      sum += i % 2 === 0 ? (CF_ODD[v] ?? 0) : v;
    }
    return `${body}${String.fromCharCode(65 + (sum % 26))}`;
  }
  bsn(): string {
    for (;;) {
      const d = this.f.string.numeric({ length: 8, allowLeadingZeros: true });
      let sum = 0;
      for (let i = 0; i < 8; i++) sum += Number(d[i]) * (9 - i);
      const last = sum % 11;
      if (last < 10) return `${d}${last}`;
    }
  }
  nir(): string {
    const body = `${this.pick(['1', '2'])}${this.f.string.numeric(2)}${String(this.f.number.int({ min: 1, max: 12 })).padStart(2, '0')}${String(this.f.number.int({ min: 1, max: 95 })).padStart(2, '0')}${this.f.string.numeric(6)}`;
    const key = String(97 - Number(BigInt(body) % 97n)).padStart(2, '0');
    const spaced = `${body[0]} ${body.slice(1, 3)} ${body.slice(3, 5)} ${body.slice(5, 7)} ${body.slice(7, 10)} ${body.slice(10)} ${key}`;
    return this.f.datatype.boolean() ? spaced : `${body}${key}`;
  }
  steuerId(): string {
    for (;;) {
      const digits = this.f.helpers.shuffle([...'0123456789']).slice(0, 9);
      if (digits[0] === '0') continue;
      const twice = digits[this.f.number.int(8)] ?? '1';
      const ten = this.f.helpers.shuffle([...digits, twice]).join('');
      if (ten[0] === '0') continue;
      let product = 10;
      for (const ch of ten) {
        let s = (Number(ch) + product) % 10;
        if (s === 0) s = 10;
        product = (s * 2) % 11;
      }
      const id = `${ten}${(11 - product) % 10}`;
      return this.f.datatype.boolean(0.3)
        ? `${id.slice(0, 2)} ${id.slice(2, 5)} ${id.slice(5, 8)} ${id.slice(8)}`
        : id;
    }
  }
  /** The identifier people of this locale are asked for, with its class. */
  nationalId(): { cls: string; value: string; label: string } {
    switch (this.locale) {
      case 'es':
        return this.f.datatype.boolean(0.7)
          ? { cls: 'DNI', value: this.dni(), label: 'DNI' }
          : { cls: 'NIE', value: this.nie(), label: 'NIE' };
      case 'it':
        return { cls: 'CODICE_FISCALE', value: this.codiceFiscale(), label: 'codice fiscale' };
      case 'nl':
        return { cls: 'BSN', value: this.bsn(), label: 'BSN' };
      case 'fr':
        return { cls: 'NIR', value: this.nir(), label: 'n° de sécurité sociale' };
      case 'de':
        return { cls: 'STEUER_ID', value: this.steuerId(), label: 'Steuer-ID' };
      case 'en_GB':
        return { cls: 'NINO', value: this.nino(), label: 'NI number' };
      case 'en_US':
        return { cls: 'SSN', value: this.ssn(), label: 'SSN' };
      default:
        return { cls: 'DNI', value: this.dni(), label: 'documento' };
    }
  }
  /** A valid-looking identifier with a wrong check character: must not be flagged. */
  badDni(): string {
    const good = this.dni();
    const letter = good.slice(-1);
    const other = DNI_LETTERS[(DNI_LETTERS.indexOf(letter) + 1 + this.f.number.int(20)) % 23];
    return `${good.slice(0, -1)}${other}`;
  }

  // ----- addresses and dates of birth -----

  /** A street with its number, sometimes a unit, sometimes postcode and town in the country's order. */
  address(): string {
    const street = this.f.location.streetAddress(this.f.datatype.boolean(0.3));
    switch (this.f.number.int(2)) {
      case 0:
        return street;
      case 1:
        if (this.locale === 'en_US') {
          return `${street}, ${this.city()}, ${this.f.location.state({ abbreviated: true })} ${this.postcode()}`;
        }
        if (this.locale === 'en_GB') return `${street}, ${this.city()} ${this.postcode()}`;
        return `${street}, ${this.postcode()} ${this.city()}`;
      default:
        return this.locale.startsWith('en') ? street : `${street}\n${this.postcode()} ${this.city()}`;
    }
  }
  /** A birth date in the locale's numeric or spelled-out form. */
  birthDate(): string {
    const d = this.f.date.birthdate({ mode: 'age', min: 18, max: 90 });
    const tag = INTL[this.locale] ?? 'en-US';
    switch (this.f.number.int(3)) {
      case 0:
        return new Intl.DateTimeFormat(tag, { day: 'numeric', month: 'long', year: 'numeric' }).format(d);
      case 1:
        return new Intl.DateTimeFormat(tag, { day: '2-digit', month: '2-digit', year: 'numeric' }).format(d);
      default:
        return d.toISOString().slice(0, 10);
    }
  }

  // ----- decoys -----

  invoiceNo(): string {
    return this.pick([
      `INV-${this.f.number.int({ min: 2019, max: 2027 })}-${this.f.string.numeric(4)}`,
      `RE-${this.f.string.numeric(8)}`,
      `FA${this.f.string.numeric(6)}`,
      `${this.f.number.int({ min: 2019, max: 2027 })}/${this.f.string.numeric(5)}`,
      this.f.string.numeric(8),
    ]);
  }
  orderId(): string {
    return this.pick([
      `ORD-${this.f.string.numeric(8)}`,
      `#${this.f.string.numeric(7)}`,
      this.f.string.numeric(9),
      this.f.string.numeric(5),
      `${this.f.string.alpha({ length: 2, casing: 'upper' })}${this.f.string.numeric(10)}`,
    ]);
  }
  sku(): string {
    return this.pick([
      `SKU-${this.f.string.numeric(5)}`,
      `${this.f.string.alpha({ length: 3, casing: 'upper' })}-${this.f.string.numeric(4)}-${this.f.string.alpha({ length: 2, casing: 'upper' })}`,
      `ART${this.f.string.numeric(6)}`,
      this.f.commerce.isbn(13),
    ]);
  }
  price(): string {
    const n = this.f.number.float({ min: 1, max: 99_999, fractionDigits: 2 });
    const tag = INTL[this.locale] ?? 'en-US';
    const currency = this.locale === 'en_US' ? 'USD' : this.locale === 'en_GB' ? 'GBP' : 'EUR';
    return new Intl.NumberFormat(tag, { style: 'currency', currency }).format(n);
  }
  version(): string {
    return this.pick([this.f.system.semver(), `v${this.f.system.semver()}`]);
  }
  /** A business date (not a birth date): ISO or the locale's numeric form. */
  businessDate(): string {
    const d = this.f.date.between({ from: '2019-01-01', to: '2027-12-31' });
    const tag = INTL[this.locale] ?? 'en-US';
    return this.f.datatype.boolean()
      ? d.toISOString().slice(0, 10)
      : new Intl.DateTimeFormat(tag, { day: '2-digit', month: '2-digit', year: 'numeric' }).format(d);
  }
}
