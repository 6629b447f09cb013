// A node:test reporter that prints, after the TAP stream, what a reader of a long CI log needs first:
// every failed or cancelled test with its file and reason, and the slowest files.
// Used by scripts/run-tests.mjs next to the TAP reporter.
import { relative } from 'node:path';

const SLOWEST_SHOWN = 12;

function where(file) {
  return file ? relative(process.cwd(), file) : '(unknown file)';
}

function reason(details) {
  const error = details?.error;
  if (!error) return '';
  const cause = error.cause ?? error;
  const text = String(cause?.message ?? cause).split('\n')[0] ?? '';
  return `${error.failureType ?? 'failure'}: ${text.slice(0, 300)}`;
}

export default async function* summaryReporter(source) {
  const failures = [];
  const fileDurations = new Map();
  for await (const event of source) {
    const data = event.data ?? {};
    if (event.type === 'test:fail' && data.details?.error?.failureType !== 'subtestsFailed') {
      failures.push(`  ${where(data.file)} › ${data.name}\n      ${reason(data.details)}`);
    }
    if ((event.type === 'test:pass' || event.type === 'test:fail') && data.nesting === 0 && data.file) {
      const ms = data.details?.duration_ms ?? 0;
      fileDurations.set(data.file, (fileDurations.get(data.file) ?? 0) + ms);
    }
  }
  const slowest = [...fileDurations.entries()].sort((a, b) => b[1] - a[1]).slice(0, SLOWEST_SHOWN);
  yield '\n# ---- summary ----\n';
  yield failures.length === 0
    ? '# no failed or cancelled test\n'
    : `# ${failures.length} failed or cancelled:\n${failures.join('\n')}\n`;
  yield `# slowest files (top-level tests, seconds):\n${slowest
    .map(([file, ms]) => `#   ${(ms / 1000).toFixed(1).padStart(7)}  ${where(file)}`)
    .join('\n')}\n`;
}
