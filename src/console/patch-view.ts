/**
 * A unified diff as a readable `<pre>`: added lines green, removed red, hunk headers blue (classes
 * only, no inline style). Used by the catalog's definition review and the policy's version diff.
 *
 * @example
 * renderPatch(createTwoFilesPatch('v1', 'v2', before, after), 'Policy diff, version 1 → 2')
 */
import { createTwoFilesPatch } from 'diff';
import { html } from 'hono/html';
import type { Html } from './console-layout.js';

/** Lines of context around each change in text diffs. */
export const DEFAULT_DIFF_CONTEXT_LINES = 3;

/** Renders `patch` (unified diff text); the `===` separator lines of `diff` are left out. */
export function renderPatch(patch: string, label: string): Html {
  const lines = patch.split('\n').filter((line) => !/^=+$/.test(line));
  return html`<pre class="patch" aria-label="${label}">${lines.map((line) =>
    line.startsWith('+') && !line.startsWith('+++')
      ? html`<span class="add">${line}</span>\n`
      : line.startsWith('-') && !line.startsWith('---')
        ? html`<span class="del">${line}</span>\n`
        : line.startsWith('@@')
          ? html`<span class="hunk">${line}</span>\n`
          : html`${line}\n`,
  )}</pre>`;
}

/** Unified diff of two texts (`before` → `after`), or undefined when they are equal. */
export function textPatch(
  beforeName: string,
  before: string,
  afterName: string,
  after: string,
): string | undefined {
  if (before === after) return undefined;
  return createTwoFilesPatch(beforeName, afterName, before, after, undefined, undefined, {
    context: DEFAULT_DIFF_CONTEXT_LINES,
  });
}
