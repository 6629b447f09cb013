// Runs every compiled test file under dist/test with node's test runner (TAP, then a summary).
// Node 20 has no glob support in `node --test`, so the files are listed here.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { run } from 'node:test';
import { tap } from 'node:test/reporters';
import summaryReporter from './test-summary-reporter.mjs';

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...find(full));
    else if (name.endsWith('.test.js')) out.push(full);
  }
  return out;
}

// Process-level suites run for minutes: start them first, so that the short files fill the gaps
// instead of the long ones making a tail at the end.
const SLOW_FIRST = ['dist/test/e2e/', 'dist/test/relay-cluster/'];
const rank = (f) => {
  const i = SLOW_FIRST.findIndex((p) => f.startsWith(p));
  return i === -1 ? SLOW_FIRST.length : i;
};

const only = process.argv.slice(2);
const files = find('dist/test')
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
if (files.length === 0) {
  console.error('no test files found under dist/test');
  process.exit(1);
}
// The runner's API rather than `node --test`: with `forceExit` each test FILE exits once its tests
// have ended, even if a failed set-up leaked a handle (reported at once instead of as a 600 s timeout),
// while this process still prints every reporter's output to the end. Children inherit this
// process's flags (`--enable-source-maps`, given by `npm test`).
const stream = run({ files, concurrency: 3, timeout: 600_000, forceExit: true });
stream.on('test:fail', () => {
  process.exitCode = 1;
});
stream.compose(tap).pipe(process.stdout);
stream.compose(summaryReporter).pipe(process.stdout);
