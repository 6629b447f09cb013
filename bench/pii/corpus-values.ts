/**
 * Values for the labelled corpus, drawn with `@faker-js/faker` in the document's locale: the PII
 * (names, e-mails, phones, cards, IBANs, SSNs, NINOs, IPs, secrets) and the look-alikes that must NOT
 * be flagged (Luhn-failing card numbers, IBANs with wrong check digits, never-issued SSNs, dates,
 * amounts, order numbers, UUIDs, commit hashes, versions...).
 */
import { generateKeyPairSync } from 'node:crypto';
import type { Faker } from '@faker-js/faker';

const CARD_ISSUERS = ['visa', 'mastercard', 'american_express', 'discover', 'diners_club', 'jcb'] as const;
const IBAN_COUNTRIES = [
  'DE',
  'GB',
  'FR',
  'ES',
  'IT',
  'NL',
  'BE',
  'AT',
  'CH',
  'PL',
  'PT',
  'IE',
  'SE',
  'DK',
  'NO',
  'FI',
];

/** A few RSA/EC private keys, generated once per process (key generation is slow). */
let pemCache: string[] | undefined;
function pems(): string[] {
  if (!pemCache) {
    pemCache = [
      generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs1', format: 'pem' }),
      generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'sec1', format: 'pem' }),
      generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }),
    ].map((k) => String(k).trim());
  }
  return pemCache;
}

function luhnDigit(body: string): string {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[body.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

export class CorpusValues {
  constructor(
    readonly f: Faker,
    readonly locale: string,
  ) {}

  firstName(): string {
    return this.f.person.firstName();
  }
  lastName(): string {
    return this.f.person.lastName();
  }
  fullName(): string {
    return `${this.firstName()} ${this.lastName()}`;
  }
  prefix(): string {
    return this.f.person.prefix();
  }
  email(first?: string, last?: string): string {
    const e = this.f.internet.email(first && last ? { firstName: first, lastName: last } : undefined);
    return this.f.datatype.boolean(0.1) ? e.replace(/^[^@]+/, (l) => l[0]?.toUpperCase() + l.slice(1)) : e;
  }
  phone(): string {
    return this.f.phone.number({
      style: this.f.helpers.arrayElement(['human', 'national', 'international']),
    });
  }
  card(): string {
    const raw = this.f.finance.creditCardNumber({ issuer: this.f.helpers.arrayElement(CARD_ISSUERS) });
    const digits = raw.replace(/\D/g, '');
    switch (this.f.number.int(2)) {
      case 0:
        return raw;
      case 1:
        return digits;
      default:
        return digits.replace(/(\d{4})(?=\d)/g, '$1 ');
    }
  }
  iban(): string {
    const country = this.f.helpers.arrayElement(IBAN_COUNTRIES);
    return this.f.finance.iban({ formatted: this.f.datatype.boolean(), countryCode: country });
  }
  ssn(): string {
    for (;;) {
      const area = this.f.number.int({ min: 1, max: 899 });
      if (area === 666) continue;
      const group = this.f.number.int({ min: 1, max: 99 });
      const serial = this.f.number.int({ min: 1, max: 9999 });
      return `${String(area).padStart(3, '0')}-${String(group).padStart(2, '0')}-${String(serial).padStart(4, '0')}`;
    }
  }
  nino(): string {
    const first = 'ABCEGHJKLMNOPRSTWXYZ';
    const second = 'ABCEGHJKLMNPRSTWXYZ';
    for (;;) {
      const prefix = this.f.helpers.arrayElement([...first]) + this.f.helpers.arrayElement([...second]);
      if (['BG', 'GB', 'KN', 'NK', 'NT', 'TN', 'ZZ'].includes(prefix)) continue;
      const digits = this.f.string.numeric(6);
      const suffix = this.f.helpers.arrayElement(['A', 'B', 'C', 'D']);
      return this.f.datatype.boolean()
        ? `${prefix} ${digits.slice(0, 2)} ${digits.slice(2, 4)} ${digits.slice(4)} ${suffix}`
        : `${prefix}${digits}${suffix}`;
    }
  }
  ip(): string {
    return this.f.datatype.boolean(0.75) ? this.f.internet.ipv4() : this.f.internet.ipv6();
  }
  secret(): string {
    const f = this.f;
    const alnum = (n: number) => f.string.alphanumeric({ length: n, casing: 'mixed' });
    switch (f.number.int(8)) {
      case 0:
        return `AKIA${f.string.alphanumeric({ length: 16, casing: 'upper' })}`;
      case 1:
        return `ghp_${alnum(36)}`;
      case 2:
        return `xoxb-${f.string.numeric(12)}-${f.string.numeric(13)}-${alnum(24)}`;
      case 3:
        return `sk_live_${alnum(24)}`;
      case 4:
        return `AIza${f.string.alphanumeric({ length: 35, casing: 'mixed' })}`;
      case 5: {
        const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
        const header = enc({ alg: 'HS256', typ: 'JWT' });
        const payload = enc({
          sub: f.string.uuid(),
          name: 'x',
          iat: f.number.int({ min: 1.6e9, max: 1.8e9 }),
        });
        return `${header}.${payload}.${Buffer.from(f.string.alphanumeric(32)).toString('base64url')}`;
      }
      case 6:
        return f.helpers.arrayElement(pems());
      case 7:
        return Buffer.from(f.string.alphanumeric(40)).toString('base64').slice(0, 40);
      default:
        return f.string.alphanumeric({ length: 32, casing: 'mixed' });
    }
  }

  // ----- look-alikes that are not PII -----

  badCard(): string {
    const good = this.f.finance.creditCardNumber({ issuer: 'visa' }).replace(/\D/g, '');
    const last = Number(good.slice(-1));
    return `${good.slice(0, -1)}${(last + 1 + this.f.number.int(7)) % 10}`;
  }
  badIban(): string {
    const good = this.f.finance.iban({
      formatted: false,
      countryCode: this.f.helpers.arrayElement(IBAN_COUNTRIES),
    });
    const check = Number(good.slice(2, 4));
    return `${good.slice(0, 2)}${String((check + 1 + this.f.number.int(50)) % 100).padStart(2, '0')}${good.slice(4)}`;
  }
  badSsn(): string {
    return this.f.helpers.arrayElement([
      `666-${this.f.string.numeric(2)}-${this.f.string.numeric(4)}`,
      `000-${this.f.string.numeric(2)}-${this.f.string.numeric(4)}`,
      `9${this.f.string.numeric(2)}-${this.f.string.numeric(2)}-${this.f.string.numeric(4)}`,
      `${this.f.number.int({ min: 100, max: 665 })}-00-${this.f.string.numeric(4)}`,
    ]);
  }
  /** A Luhn-valid 16-digit number outside every card IIN range (e.g. a loyalty or parcel number). */
  luhnNoIin(): string {
    const body = `9${this.f.string.numeric(14)}`;
    return `${body}${luhnDigit(body)}`;
  }
  date(): string {
    const d = this.f.date.between({ from: '2019-01-01', to: '2027-12-31' });
    const iso = d.toISOString();
    return this.f.helpers.arrayElement([
      iso.slice(0, 10),
      `${iso.slice(8, 10)}.${iso.slice(5, 7)}.${iso.slice(0, 4)}`,
      `${iso.slice(5, 7)}/${iso.slice(8, 10)}/${iso.slice(0, 4)}`,
      iso,
    ]);
  }
  amount(): string {
    const n = this.f.number.float({ min: 10, max: 2_000_000, fractionDigits: 2 });
    return this.f.helpers.arrayElement([
      n.toLocaleString('en-US', { minimumFractionDigits: 2 }),
      n.toLocaleString('de-DE', { minimumFractionDigits: 2 }),
      n.toFixed(2),
    ]);
  }
  orderNumber(): string {
    return this.f.helpers.arrayElement([
      `ORD-${this.f.string.numeric(8)}`,
      `INV-${this.f.number.int({ min: 2019, max: 2027 })}-${this.f.string.numeric(4)}`,
      `#${this.f.string.numeric(7)}`,
      `PO ${this.f.string.numeric(10)}`,
      `SKU-${this.f.string.numeric(5)}`,
      this.f.string.numeric(9),
    ]);
  }
  technicalId(): string {
    return this.f.helpers.arrayElement([
      this.f.string.uuid(),
      this.f.git.commitSha(),
      this.f.git.commitSha({ length: 7 }),
      this.f.system.semver(),
      `v${this.f.system.semver()}`,
      `${this.f.number.int(23)}:${String(this.f.number.int(59)).padStart(2, '0')}`,
      this.f.string.hexadecimal({ length: 32, casing: 'lower', prefix: '' }),
      this.f.internet.mac(),
      `1Z${this.f.string.alphanumeric({ length: 16, casing: 'upper' })}`,
      this.f.string.numeric(13),
    ]);
  }
  company(): string {
    return this.f.company.name();
  }
  city(): string {
    return this.f.location.city();
  }
  street(): string {
    return this.f.location.streetAddress();
  }
  postcode(): string {
    return this.f.location.zipCode();
  }
  product(): string {
    return this.f.commerce.productName();
  }
  sentence(): string {
    return this.f.helpers.arrayElement([
      this.f.hacker.phrase(),
      this.f.company.catchPhrase(),
      this.f.commerce.productDescription(),
      this.f.lorem.sentence(),
    ]);
  }
  url(): string {
    return this.f.internet.url();
  }
  username(): string {
    return this.f.internet.username();
  }
}
