/**
 * A JSON value (tool arguments, redacted audit arguments) as a table a person can read: one row per
 * property, nested objects and arrays indented under their key, strings without JSON quotes. Values
 * that look like personal data are masked (pii-mask.ts) unless `reveal`.
 *
 * @example
 * const { table, masked } = renderValueTable({ amount: 50, customer: { email: 'a@b.example' } }, { label: 'Arguments', scanner, reveal: false });
 */
import { html, raw } from 'hono/html';
import type { PiiScanner } from '../pii/pii-scanner.js';
import type { Html } from './console-layout.js';
import { displayLeaf } from './pii-mask.js';

/** Most rows rendered for one value (the rest is summarised). */
export const MAX_VALUE_TABLE_ROWS = 400;
/** Deepest nesting shown indented (deeper levels share the last indentation). */
const MAX_INDENT = 6;

export interface ValueTableOptions {
  /** Accessible name of the table. */
  label: string;
  /** Detectors for masking; undefined shows values as they are. */
  scanner: PiiScanner | undefined;
  reveal: boolean;
}

interface Row {
  depth: number;
  key: string;
  value: Html;
}

/** The table and how many values were masked. */
export function renderValueTable(value: unknown, opts: ValueTableOptions): { table: Html; masked: number } {
  const rows: Row[] = [];
  let masked = 0;
  const leaf = (v: unknown, key: string): Html => {
    if (v === null) return html`<span class="muted">null</span>`;
    const text = typeof v === 'string' ? v : JSON.stringify(v);
    const shown = displayLeaf(text, { scanner: opts.scanner, reveal: opts.reveal, key });
    masked += shown.masked;
    return html`<span class="value${shown.masked ? raw(' masked') : ''}">${shown.text}</span>`;
  };
  const walk = (v: unknown, key: string, depth: number) => {
    if (rows.length >= MAX_VALUE_TABLE_ROWS) return;
    const children = childrenOf(v);
    if (!children) {
      rows.push({ depth, key, value: leaf(v, key) });
      return;
    }
    const summary = Array.isArray(v) ? `list of ${children.length}` : `${children.length} fields`;
    rows.push({ depth, key, value: html`<span class="muted">${summary}</span>` });
    for (const [k, child] of children) walk(child, k, depth + 1);
  };
  const top = childrenOf(value);
  if (top) for (const [k, child] of top) walk(child, k, 0);
  else if (value !== undefined) walk(value, '(value)', 0);
  if (rows.length === 0) return { table: html`<p class="muted">No arguments.</p>`, masked };
  const body = rows.map(
    (r) =>
      html`<tr><th scope="row" class="depth-${Math.min(r.depth, MAX_INDENT)}">${r.key}</th><td>${r.value}</td></tr>`,
  );
  const more =
    rows.length >= MAX_VALUE_TABLE_ROWS
      ? html`<p class="muted">Only the first ${MAX_VALUE_TABLE_ROWS} values are shown.</p>`
      : '';
  return {
    table: html`<table class="kv" aria-label="${opts.label}"><thead><tr><th scope="col">Name</th><th scope="col">Value</th></tr></thead><tbody>${body}</tbody></table>${more}`,
    masked,
  };
}

/** Entries of a non-empty object or array (array keys as `[i]`), else undefined. */
function childrenOf(v: unknown): Array<[string, unknown]> | undefined {
  if (Array.isArray(v)) return v.length ? v.map((item, i) => [`[${i}]`, item]) : undefined;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    return entries.length ? entries : undefined;
  }
  return undefined;
}
