/**
 * A stand-in for `airlock` (src/cli/main.ts) with only the approval and console commands, so tests can
 * run them as a separate process exactly as main.ts will (same `register`, same error reporting).
 */
import { Command } from 'commander';
import { register as registerApprovals } from '../../src/cli/approvals-command.js';
import { reportCliError } from '../../src/cli/cli-errors.js';
import { register as registerConsole } from '../../src/cli/console-command.js';

const program = new Command().name('airlock');
registerApprovals(program);
registerConsole(program);
try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = reportCliError(err);
}
