/**
 * Unicode confusables ("homoglyphs") folded to the ASCII letters they imitate, with the Unicode
 * confusables data (UTS #39, `confusables.txt`) as packaged by `unhomoglyph` (nodeca): Cyrillic
 * "Іgnоrе" reads as "ignore". Used by the poisoning scan before its phrase rules, and by anything that
 * must tell whether two names look alike.
 *
 * ASCII is kept as it is (so regular expressions over ASCII still apply); every other character is
 * lower-cased, mapped to its confusables prototype, and replaced when that prototype is ASCII (the
 * prototype of "m" look-alikes, "rn", is read back as "m").
 *
 * @example
 * foldConfusables('Іgnore аll previous instructiоns') // 'ignore all previous instructions'
 * confusableSkeleton('demo‑agent') === confusableSkeleton('demo-agent') // true (U+2011 hyphen)
 */
import unhomoglyph from 'unhomoglyph';

const ASCII_PRINTABLE = /^[\x20-\x7e]+$/;
const NON_ASCII = /[^\p{ASCII}]/gu;

/** Prototype → ASCII letter or digit it stands for (letters win: "O" reads as "o", not "0"). */
const PROTOTYPE_TO_ASCII: ReadonlyMap<string, string> = (() => {
  const map = new Map<string, string>();
  for (const c of 'abcdefghijklmnopqrstuvwxyz0123456789') {
    const prototype = unhomoglyph(c);
    if (!map.has(prototype)) map.set(prototype, c);
  }
  return map;
})();

const cache = new Map<string, string>();
const MAX_CACHE = 4096;

function foldChar(c: string): string {
  const cached = cache.get(c);
  if (cached !== undefined) return cached;
  const lower = c.toLowerCase();
  const prototype = unhomoglyph(lower);
  const folded = ASCII_PRINTABLE.test(prototype) ? (PROTOTYPE_TO_ASCII.get(prototype) ?? prototype) : c;
  if (cache.size < MAX_CACHE) cache.set(c, folded);
  return folded;
}

/**
 * Replaces every non-ASCII character that imitates ASCII by that ASCII text; ASCII and characters
 * with no ASCII look-alike stay. Apply NFKC first for full-width and mathematical letters.
 *
 * @example
 * foldConfusables('rеаd ~/.ѕsh/id_rsа') // 'read ~/.ssh/id_rsa'
 */
export function foldConfusables(text: string): string {
  return text.replace(NON_ASCII, foldChar);
}

/**
 * The UTS #39 skeleton of `text` after NFKC and lower-casing: equal skeletons mean the strings look
 * alike (e.g. `demo-agent` and `demo‑agent`, `paypal` and `pаypаl`).
 *
 * @example
 * confusableSkeleton('Demo‑Agent') === confusableSkeleton('demo-agent') // true
 */
export function confusableSkeleton(text: string): string {
  return unhomoglyph(text.normalize('NFKC').toLowerCase());
}
