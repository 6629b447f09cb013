/** `airlock demo` (what `npm start` runs): everything on localhost, then instructions. */
import type { Command } from 'commander';
import type { DemoInfo } from '../demo/demo.js';

function nextSteps(info: DemoInfo): string {
  const connect = `${info.relay.host}:${info.relay.port}`;
  return `
Airlock demo is running.
  tenant URL (MCP):   ${info.mcpUrl}
  relay (TCP):        ${connect}   (agents open TCP here; SNI and Host stay ${info.tenantHost})
  console:            ${info.consoleUrl}   (user "${info.consoleUser}", password in ${info.consolePasswordFile})
  relay metrics:      ${info.metricsUrl}
  tenant CA to pin:   ${info.caFile}
  agent certificate:  ${info.clientCertFile}
  agent key:          ${info.clientKeyFile}

Try it with the stdio bridge (works with any desktop MCP client):
  node dist/src/cli/main.js bridge --url ${info.mcpUrl} --connect ${connect} \\
    --ca ${info.caFile} --cert ${info.clientCertFile} --key ${info.clientKeyFile}

Or talk HTTP yourself:
  curl --connect-to ${info.tenantHost}:${info.relay.port}:${connect} --cacert ${info.caFile} \\
    --cert ${info.clientCertFile} --key ${info.clientKeyFile} \\
    -H 'content-type: application/json' -H 'accept: application/json, text/event-stream' \\
    -d '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}' \\
    ${info.mcpUrl}

Press Ctrl+C to stop. State is kept in ${info.dataDir}.
`;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('run relay + connector + sample private MCP servers on localhost')
    .option('--data-dir <dir>', 'where the demo keeps its state', '.airlock/demo')
    .option('--port <n>', 'relay port (0 picks a free one)', (v) => Number.parseInt(v, 10), 8443)
    .option('--json', 'print exactly one JSON line on stdout when ready')
    .action(async (opts: { dataDir: string; port: number; json?: boolean }) => {
      const { startDemo, demoSandboxBanner } = await import('../demo/demo.js');
      const { cliLogger } = await import('./logger.js');
      const { catchShutdownSignals, runUntilSignal } = await import('./run-until-signal.js');
      const signals = catchShutdownSignals();
      const logger = cliLogger(process.env.AIRLOCK_LOG_LEVEL ?? (opts.json ? 'warn' : 'info'));
      if (!opts.json) process.stderr.write('starting relay, connector and sample MCP servers…\n');
      const demo = await startDemo({ dataDir: opts.dataDir, port: opts.port, logger });
      if (opts.json) process.stdout.write(`${JSON.stringify(demo.info)}\n`);
      else process.stdout.write(demoSandboxBanner(demo.info) + nextSteps(demo.info));
      await runUntilSignal(
        signals,
        () => demo.close(),
        (m) => logger.info(m),
      );
    });
}
