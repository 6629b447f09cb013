/**
 * The labelled PII corpus: documents generated with `@faker-js/faker` in seven locales from the
 * templates of one pool, deterministic for a seed.
 *
 * @example
 * const docs = generateCorpus({ seed: 1, pool: 'dev', documents: 700 });
 * docs[0].spans // [{ start, end, class: 'NAME' }, ...]
 */
import {
  type Faker,
  fakerDE,
  fakerEN_GB,
  fakerEN_US,
  fakerES,
  fakerFR,
  fakerIT,
  fakerNL,
  fakerPT_BR,
  fakerPT_PT,
} from '@faker-js/faker';
import { DocBuilder, type GoldSpan } from './corpus-builder.js';
import { DEV_TEMPLATES, HELDOUT_TEMPLATES } from './corpus-templates.js';
import { EU_DEV_TEMPLATES, EU_HELDOUT_TEMPLATES, type EuTemplate } from './corpus-templates-eu.js';
import { EuCorpusValues } from './corpus-values-eu.js';

export const LOCALES: Readonly<Record<string, Faker>> = {
  en_US: fakerEN_US,
  en_GB: fakerEN_GB,
  de: fakerDE,
  fr: fakerFR,
  es: fakerES,
  nl: fakerNL,
  it: fakerIT,
  pt_PT: fakerPT_PT,
  pt_BR: fakerPT_BR,
};

/** Templates of each pool: the original ones and the European names/addresses/IDs/decoys ones. */
export const POOLS: Readonly<Record<'dev' | 'heldout', readonly EuTemplate[]>> = {
  dev: [...DEV_TEMPLATES, ...EU_DEV_TEMPLATES],
  heldout: [...HELDOUT_TEMPLATES, ...EU_HELDOUT_TEMPLATES],
};

export interface LabelledDoc {
  id: string;
  locale: string;
  text: string;
  spans: GoldSpan[];
}

export interface CorpusOptions {
  seed: number;
  pool: 'dev' | 'heldout';
  /** Number of documents (spread evenly over locales and templates). */
  documents: number;
}

export function generateCorpus(options: CorpusOptions): LabelledDoc[] {
  const templates = POOLS[options.pool];
  const locales = Object.entries(LOCALES);
  const docs: LabelledDoc[] = [];
  for (let i = 0; i < options.documents; i++) {
    const [locale, faker] = locales[i % locales.length] ?? ['en_US', fakerEN_US];
    faker.seed(options.seed * 1_000_003 + i);
    const template = templates[Math.floor(i / locales.length) % templates.length];
    if (!template) continue;
    const b = new DocBuilder();
    template(b, new EuCorpusValues(faker, locale));
    const { text, spans } = b.build();
    docs.push({ id: `${options.pool}-${options.seed}-${i}`, locale, text, spans });
  }
  return docs;
}
