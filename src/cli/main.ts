#!/usr/bin/env node
/**
 * `airlock` — a thin command-line layer over the library. Each sub-command lives in its own file
 * and imports its heavy modules only inside its action, so `airlock --help` stays fast.
 */
import { Command } from 'commander';
import { reportCliError } from './cli-errors.js';

// `airlock tools list | head`: a closed pipe is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const program = new Command();
program
  .name('airlock')
  .description(
    'Reach MCP servers in a private network: a blind relay, an outbound-only connector, your policy.',
  )
  .showHelpAfterError();

const registrations = [
  () => import('./version-command.js'),
  () => import('./init-command.js'),
  () => import('./doctor-command.js'),
  () => import('./status-command.js'),
  () => import('./relay-command.js'),
  () => import('./tenant-command.js'),
  () => import('./connector-command.js'),
  () => import('./identity-command.js'),
  () => import('./tools-command.js'),
  () => import('./approvals-command.js'),
  () => import('./console-command.js'),
  () => import('./audit-command.js'),
  () => import('./report-command.js'),
  () => import('./discover-command.js'),
  () => import('./bridge-command.js'),
  () => import('./forward-command.js'),
  () => import('./demo-command.js'),
];

for (const load of registrations) {
  const mod = await load();
  mod.register(program);
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = reportCliError(err);
}
