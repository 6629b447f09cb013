/**
 * Payment numbers of the sample ERP that pass real validation: Luhn-valid test card numbers of the card
 * brands' test ranges, and mod-97-valid IBANs with the national check digits (France RIB key, Spain
 * control digits, Netherlands eleven-proof) where the country has them.
 *
 * @example
 * isValidIban(buildIban('DE', '370400440532013000')); // true
 */

import type { CountryCode } from './seed-data.js';
import type { Dice } from './seed-dice.js';

/** Luhn check digit for the digits in `body` (the digit that makes `body + digit` valid). */
export function luhnCheckDigit(body: string): string {
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

/** Whether a card number (digits, spaces allowed) passes the Luhn check. */
export function isValidLuhn(cardNumber: string): boolean {
  const digits = cardNumber.replace(/\s+/g, '');
  if (!/^\d{12,19}$/.test(digits)) return false;
  return luhnCheckDigit(digits.slice(0, -1)) === digits.slice(-1);
}

function mod97(numeric: string): number {
  let remainder = 0;
  for (let i = 0; i < numeric.length; i += 7) {
    remainder = Number(`${remainder}${numeric.slice(i, i + 7)}`) % 97;
  }
  return remainder;
}

function lettersToDigits(value: string): string {
  return value.replace(/[A-Z]/g, (ch) => String(ch.charCodeAt(0) - 55));
}

/** Builds an IBAN from a country code and a BBAN, computing the ISO 13616 mod-97 check digits. */
export function buildIban(country: string, bban: string): string {
  const check = 98 - mod97(lettersToDigits(`${bban}${country}00`));
  return `${country}${String(check).padStart(2, '0')}${bban}`;
}

/** Whether an IBAN (spaces allowed) has valid ISO 13616 mod-97 check digits. */
export function isValidIban(iban: string): boolean {
  const compact = iban.replace(/\s+/g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$/.test(compact)) return false;
  return mod97(lettersToDigits(`${compact.slice(4)}${compact.slice(0, 4)}`)) === 1;
}

function frenchRibKey(bank: string, branch: string, account: string): string {
  const value = 89n * BigInt(bank) + 15n * BigInt(branch) + 3n * BigInt(account);
  return String(97n - (value % 97n)).padStart(2, '0');
}

function spanishControlDigit(tenDigits: string): string {
  const weights = [1, 2, 4, 8, 5, 10, 9, 7, 3, 6];
  let sum = 0;
  for (let i = 0; i < 10; i++) sum += Number(tenDigits[i]) * (weights[i] ?? 0);
  const d = 11 - (sum % 11);
  return String(d === 11 ? 0 : d === 10 ? 1 : d);
}

function dutchElevenProofAccount(dice: Dice): string {
  for (;;) {
    const body = dice.digits(9);
    let sum = 0;
    for (let i = 0; i < 9; i++) sum += Number(body[i]) * (10 - i);
    const last = (11 - (sum % 11)) % 11;
    if (last < 10 && body[0] !== '0') return `${body}${last}`;
  }
}

export function ibanFor(country: CountryCode, dice: Dice): string {
  switch (country) {
    case 'DE':
      return buildIban(
        'DE',
        `${dice.pick(['10070000', '37040044', '50010517', '20041133', '70150000'])}${dice.digits(10)}`,
      );
    case 'GB':
      return buildIban(
        'GB',
        `${dice.pick(['NWBK', 'BARC', 'LOYD', 'HBUK', 'MIDL'])}${dice.digits(6)}${dice.digits(8)}`,
      );
    case 'FR': {
      const bank = dice.pick(['30004', '30003', '20041', '10278', '30002']);
      const branch = dice.digits(5);
      const account = dice.digits(11);
      return buildIban('FR', `${bank}${branch}${account}${frenchRibKey(bank, branch, account)}`);
    }
    case 'NL':
      return buildIban(
        'NL',
        `${dice.pick(['ABNA', 'INGB', 'RABO', 'SNSB', 'TRIO'])}${dutchElevenProofAccount(dice)}`,
      );
    case 'BE': {
      const ten = `${dice.pick(['001', '068', '310', '363', '735'])}${dice.digits(7)}`;
      const check = Number(BigInt(ten) % 97n) || 97;
      return buildIban('BE', `${ten}${String(check).padStart(2, '0')}`);
    }
    case 'ES': {
      const bank = dice.pick(['2100', '0049', '0182', '0081', '2085']);
      const branch = dice.digits(4);
      const account = dice.digits(10);
      const dc = `${spanishControlDigit(`00${bank}${branch}`)}${spanishControlDigit(account)}`;
      return buildIban('ES', `${bank}${branch}${dc}${account}`);
    }
  }
}

export function testCardNumber(dice: Dice): string {
  const brand = dice.pick([
    { prefix: '400000', length: 16 }, // Visa test range
    { prefix: '424242', length: 16 }, // Visa test range
    { prefix: '555555', length: 16 }, // Mastercard test range
    { prefix: '222300', length: 16 }, // Mastercard 2-series test range
    { prefix: '378282', length: 15 }, // American Express test range
  ]);
  const body = `${brand.prefix}${dice.digits(brand.length - brand.prefix.length - 1)}`;
  return `${body}${luhnCheckDigit(body)}`;
}
