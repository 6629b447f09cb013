/**
 * Builds a labelled document piece by piece: plain text, and PII values whose character spans are
 * recorded with their class. JSON documents are built the same way so that labels point into the
 * serialised text.
 *
 * @example
 * const b = new DocBuilder();
 * b.text('Mail ').pii('EMAIL', 'anna@example.com').text(' today.');
 * b.build() // { text: 'Mail anna@example.com today.', spans: [{ start: 5, end: 21, class: 'EMAIL' }] }
 */

export interface GoldSpan {
  start: number;
  end: number;
  class: string;
}

/** A JSON value in a labelled JSON document: a PII leaf, a plain leaf, an object or an array. */
export type LabelledJson =
  | { pii: string; value: string }
  | string
  | number
  | boolean
  | null
  | LabelledJson[]
  | { [key: string]: LabelledJson };

export class DocBuilder {
  #text = '';
  readonly #spans: GoldSpan[] = [];

  text(s: string): this {
    this.#text += s;
    return this;
  }

  pii(cls: string, value: string): this {
    this.#spans.push({ start: this.#text.length, end: this.#text.length + value.length, class: cls });
    this.#text += value;
    return this;
  }

  /** Appends `value` serialised as JSON with two-space indentation, labelling its PII leaves. */
  json(value: LabelledJson, indent = ''): this {
    if (value === null || typeof value !== 'object') return this.text(JSON.stringify(value));
    if (isPii(value)) {
      this.text('"');
      this.pii(value.pii, JSON.stringify(value.value).slice(1, -1));
      return this.text('"');
    }
    const inner = `${indent}  `;
    if (Array.isArray(value)) {
      if (value.length === 0) return this.text('[]');
      this.text('[\n');
      value.forEach((v, i) => {
        this.text(inner).json(v, inner);
        this.text(i < value.length - 1 ? ',\n' : '\n');
      });
      return this.text(`${indent}]`);
    }
    const entries = Object.entries(value);
    if (entries.length === 0) return this.text('{}');
    this.text('{\n');
    entries.forEach(([k, v], i) => {
      this.text(`${inner}${JSON.stringify(k)}: `).json(v, inner);
      this.text(i < entries.length - 1 ? ',\n' : '\n');
    });
    return this.text(`${indent}}`);
  }

  build(): { text: string; spans: GoldSpan[] } {
    return { text: this.#text, spans: [...this.#spans] };
  }
}

function isPii(value: object): value is { pii: string; value: string } {
  return !Array.isArray(value) && 'pii' in value && 'value' in value && Object.keys(value).length === 2;
}
