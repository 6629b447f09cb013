/**
 * Resilience with real processes: `kill -9` the relay and start it again, then `kill -9` the
 * connector and start it again. Each time a call in flight gets a clear error, and the tunnel comes
 * back by itself (calls work again; the time it took is reported as a diagnostic, not asserted: the
 * reconnect schedule is tested on an injected clock in test/connector/tunnel-supervisor.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connectToTenant, type TenantConnection } from '../../src/agent/index.js';
import { until } from '../fixtures/wait-until.js';
import { everythingUpstream } from './airlock-stack.js';
import { type CliStack, startCli, startCliStack } from './cli-process.js';

let stack: CliStack;
let conn: TenantConnection;

async function callWorks(): Promise<boolean> {
  try {
    const client = await connectToTenant(conn, { name: 'probe', version: '1' });
    try {
      const r = (await client.callTool({ name: 'everything.echo', arguments: { message: 'ping' } })) as {
        content: Array<{ text?: string }>;
      };
      return r.content[0]?.text === 'Echo: ping';
    } finally {
      await client.close();
    }
  } catch {
    return false;
  }
}

/** Milliseconds until a call works again (for the diagnostics), polling until then. */
async function timeUntilCallsWork(): Promise<number> {
  const start = Date.now();
  await until('calls to work again', () => callWorks());
  return Date.now() - start;
}

/**
 * Starts a slow tool call; `running` resolves at its first progress notification (the upstream is
 * working on it), `outcome` when it settles.
 */
function slowCall(): { running: Promise<void>; outcome: Promise<{ ok: boolean; error?: Error }> } {
  let progressed: () => void = () => {};
  let ended: (err: Error) => void = () => {};
  const running = new Promise<void>((resolve, reject) => {
    progressed = resolve;
    ended = reject;
  });
  const outcome = (async () => {
    const client = await connectToTenant(conn, { name: 'in-flight', version: '1' });
    try {
      await client.callTool(
        { name: 'everything.trigger-long-running-operation', arguments: { duration: 20, steps: 20 } },
        { timeout: 60_000, onprogress: () => progressed() },
      );
      return { ok: true };
    } catch (error) {
      return { ok: false, error: error as Error };
    } finally {
      await client.close().catch(() => undefined);
    }
  })();
  // Settling first means the call never ran (a no-op once it has progressed).
  void outcome.then(() => ended(new Error('the slow call ended before the upstream worked on it')));
  return { running, outcome };
}

before(async () => {
  stack = await startCliStack({}, { everything: everythingUpstream() });
  conn = stack.conn;
  await timeUntilCallsWork();
});

after(() => stack?.close());

test('kill -9 the relay: the in-flight call fails clearly, and calls work again after its restart', async (t) => {
  const inFlight = slowCall();
  await inFlight.running;
  const killedAt = Date.now();
  await stack.relay.kill('SIGKILL');
  const outcome = await inFlight.outcome;
  assert.equal(outcome.ok, false, 'the in-flight call must not silently succeed');
  assert.ok(outcome.error?.message, 'and it carries an error message');
  t.diagnostic(`in-flight call failed ${Date.now() - killedAt} ms after the kill: ${outcome.error?.message}`);
  stack.relay = await startCli(stack.relayArgs(stack.relayPort));
  // The relay process is listening again (its ready line is printed after listen()).
  const ms = await timeUntilCallsWork();
  t.diagnostic(`calls work again ${ms} ms after the new relay listens`);
});

test('kill -9 the connector: the in-flight call fails clearly, and calls work again after its restart', async (t) => {
  const inFlight = slowCall();
  await inFlight.running;
  const killedAt = Date.now();
  await stack.connector.kill('SIGKILL');
  const outcome = await inFlight.outcome;
  assert.equal(outcome.ok, false);
  assert.ok(outcome.error?.message, 'and it carries an error message');
  t.diagnostic(`in-flight call failed ${Date.now() - killedAt} ms after the kill: ${outcome.error?.message}`);
  stack.connector = await stack.startConnector();
  // The new connector process has loaded its config and started its upstreams and tunnels.
  const ms = await timeUntilCallsWork();
  t.diagnostic(`calls work again ${ms} ms after the new connector is up`);
});
