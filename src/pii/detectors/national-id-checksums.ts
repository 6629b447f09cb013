/**
 * Check-digit rules of European national identifiers, each on the compact upper-case form (no spaces,
 * dots or dashes). A look-alike with a wrong check character is refused, so invoice and order numbers
 * of the same length rarely pass (1 in 23 for a DNI letter, 1 in 97 for a NIR key).
 *
 * @example
 * isValidDni('12345678Z') // true  (12345678 mod 23 = 14 → Z)
 * isValidDni('12345678A') // false
 * isValidBsn('111222333') // true  (11-proof)
 */

const DNI_LETTERS = 'TRWAGMYFPDXBNJZSQVHLCKE';

/** Spanish DNI (8 digits + letter) or NIE (X/Y/Z + 7 digits + letter): the letter is the number mod 23. */
export function isValidDni(compact: string): boolean {
  const m = /^([XYZ]|\d)(\d{7})([A-Z])$/.exec(compact);
  if (!m) return false;
  const head = m[1] === 'X' ? '0' : m[1] === 'Y' ? '1' : m[1] === 'Z' ? '2' : (m[1] ?? '');
  const n = Number(`${head}${m[2]}`);
  return DNI_LETTERS[n % 23] === m[3];
}

/** Values of characters in odd (1st, 3rd, ...) positions of a codice fiscale; digits count as A-J. */
const CF_ODD = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23];
/** Letters that replace digits in an "omocodia" codice fiscale (0-9). */
const CF_OMOCODIA = 'LMNPQRSTUV';
const CF_SHAPE = /^[A-Z]{6}[\dLMNPQRSTUV]{2}[ABCDEHLMPRST][\dLMNPQRSTUV]{2}[A-Z][\dLMNPQRSTUV]{3}[A-Z]$/;

/** Italian codice fiscale (16 characters): shape, month letter, day 1-31 or 41-71, and the check letter. */
export function isValidCodiceFiscale(compact: string): boolean {
  if (!CF_SHAPE.test(compact)) return false;
  const dayChars = compact.slice(9, 11).replace(/[LMNPQRSTUV]/g, (c) => String(CF_OMOCODIA.indexOf(c)));
  const day = Number(dayChars);
  if (!((day >= 1 && day <= 31) || (day >= 41 && day <= 71))) return false;
  let sum = 0;
  for (let i = 0; i < 15; i++) {
    const ch = compact.charCodeAt(i);
    const index = ch <= 57 ? ch - 48 : ch - 65;
    sum += i % 2 === 0 ? (CF_ODD[index] ?? 0) : index;
  }
  return String.fromCharCode(65 + (sum % 26)) === compact[15];
}

/** Dutch BSN (9 digits): the "11-proof", Σ dᵢ·(9−i) for the first 8 minus the last, divisible by 11. */
export function isValidBsn(compact: string): boolean {
  if (!/^\d{9}$/.test(compact) || /^0+$/.test(compact)) return false;
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += Number(compact[i]) * (9 - i);
  sum -= Number(compact[8]);
  return sum % 11 === 0;
}

/**
 * French NIR (numéro de sécurité sociale, 13 characters + 2-digit key): sex 1/2 (7/8 temporary),
 * month 01-12 or 20-99 (unknown), Corsica's 2A/2B counted as 19/18; key = 97 − (number mod 97).
 */
export function isValidNir(compact: string): boolean {
  const m = /^([1278])(\d{2})(\d{2})(\d{2}|2[AB])(\d{6})(\d{2})$/.exec(compact);
  if (!m) return false;
  const month = Number(m[3]);
  if (!((month >= 1 && month <= 12) || month >= 20)) return false;
  const dept = m[4] === '2A' ? '19' : m[4] === '2B' ? '18' : (m[4] ?? '');
  const body = BigInt(`${m[1]}${m[2]}${m[3]}${dept}${m[5]}`);
  return 97n - (body % 97n) === BigInt(m[6] ?? '-1');
}

/**
 * German Steuer-ID (steuerliche Identifikationsnummer, 11 digits): no leading 0, in the first ten
 * digits exactly one digit occurs twice or three times, and the last is the ISO 7064 MOD 11,10 check digit.
 */
export function isValidSteuerId(compact: string): boolean {
  if (!/^[1-9]\d{10}$/.test(compact)) return false;
  const counts = new Map<string, number>();
  for (const d of compact.slice(0, 10)) counts.set(d, (counts.get(d) ?? 0) + 1);
  const repeated = [...counts.values()].filter((c) => c > 1);
  if (repeated.length !== 1 || (repeated[0] ?? 0) > 3) return false;
  let product = 10;
  for (let i = 0; i < 10; i++) {
    let sum = (Number(compact[i]) + product) % 10;
    if (sum === 0) sum = 10;
    product = (sum * 2) % 11;
  }
  const check = (11 - product) % 10;
  return check === Number(compact[10]);
}
