/**
 * Runs `airlock tools …` as the CLI would: the real command module registered on a fresh commander
 * program, in a child process started in the repository root. Resolves with what it printed
 * (standard output, then standard error); rejects when the command exits non-zero.
 *
 * @example
 * assert.match(await toolsCli(['tools', 'diff', 'drift.search', '--config', config]), /BREAKING/);
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const TOOLS_COMMAND = new URL('../../src/cli/tools-command.js', import.meta.url).href;
const ROOT = new URL('../../../', import.meta.url).pathname;
const run = promisify(execFile);

/** `args` as after `airlock`, e.g. `['tools', 'list', '--config', file]`. */
export async function toolsCli(args: string[]): Promise<string> {
  const script = `
    import { Command } from 'commander';
    import { register } from ${JSON.stringify(TOOLS_COMMAND)};
    const program = new Command();
    register(program);
    await program.parseAsync(process.argv);
  `;
  const { stdout, stderr } = await run(
    process.execPath,
    ['--input-type=module', '-e', script, 'airlock', ...args],
    {
      cwd: ROOT,
    },
  );
  return stdout + stderr;
}
