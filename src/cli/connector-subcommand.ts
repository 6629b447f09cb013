/**
 * The shape every connector-side command group shares (`airlock identity …`, `airlock approvals …`):
 * a group, and sub-commands that work on one connector's data, named by `-c, --config <file>`.
 *
 * @example
 * const identity = commandGroup(program, 'identity', 'issue, list and revoke agent identities');
 * connectorSubcommand(identity, 'list', 'list agent identities').option('--json', 'print JSON');
 */
import type { Command } from 'commander';

/** `airlock <name>`: a group of sub-commands. */
export function commandGroup(program: Command, name: string, description: string): Command {
  return program.command(name).description(description);
}

/** A sub-command of `group` with the required `-c, --config <file>` of the connector it works on. */
export function connectorSubcommand(group: Command, spec: string, description: string): Command {
  return group
    .command(spec)
    .description(description)
    .requiredOption('-c, --config <file>', 'connector config file');
}
