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
} from '@faker-js/faker';
import { DocBuilder, type GoldSpan } from './corpus-builder.js';
import { DEV_TEMPLATES, HELDOUT_TEMPLATES } from './corpus-templates.js';
import { CorpusValues } from './corpus-values.js';

export const LOCALES: Readonly<Record<string, Faker>> = {
  en_US: fakerEN_US,
  en_GB: fakerEN_GB,
  de: fakerDE,
  fr: fakerFR,
  es: fakerES,
  nl: fakerNL,
  it: fakerIT,
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
  const templates = options.pool === 'dev' ? DEV_TEMPLATES : HELDOUT_TEMPLATES;
  const locales = Object.entries(LOCALES);
  const docs: LabelledDoc[] = [];
  for (let i = 0; i < options.documents; i++) {
    const [locale, faker] = locales[i % locales.length] ?? ['en_US', fakerEN_US];
    faker.seed(options.seed * 1_000_003 + i);
    const template = templates[Math.floor(i / locales.length) % templates.length];
    if (!template) continue;
    const b = new DocBuilder();
    template(b, new CorpusValues(faker, locale));
    const { text, spans } = b.build();
    docs.push({ id: `${options.pool}-${options.seed}-${i}`, locale, text, spans });
  }
  return docs;
}
