/**
 * `airlock --version` (and `airlock version`, which adds the Node.js version and platform): the version
 * comes from the package's own package.json, wherever the package is installed.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';

/**
 * The installed package's version (`dist/src/cli/*.js` → `../../../package.json`).
 *
 * @example
 * airlockVersion(); // '0.1.0'
 */
export function airlockVersion(): string {
  const file = new URL('../../../package.json', import.meta.url);
  const pkg = JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
}

export function register(program: Command): void {
  program.version(airlockVersion(), '-V, --version', 'print the version and exit');
  program
    .command('version')
    .description('print the version, the Node.js version and the platform')
    .action(() => {
      process.stdout.write(
        `airlock ${airlockVersion()} (node ${process.versions.node}, ${process.platform}-${process.arch})\n`,
      );
    });
}
