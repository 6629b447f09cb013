/**
 * Resilience with real processes: `kill -9` the relay and start it again, then `kill -9` the
 * connector and start it again. Each time a call in flight gets a clear error, and the tunnel is
 * back (calls work) within 5 s of the restart.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connectToTenant, type TenantConnection } from '../../src/agent/index.js';
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

/** Milliseconds until a call works again, polling every 100 ms; fails after `limitMs`. */
async function timeUntilCallsWork(limitMs: number): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < limitMs) {
    if (await callWorks()) return Date.now() - start;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`calls did not work again within ${limitMs} ms`);
}

/** Starts a slow tool call and returns its settled outcome. */
function slowCall(): Promise<{ ok: boolean; error?: Error }> {
  return (async () => {
    const client = await connectToTenant(conn, { name: 'in-flight', version: '1' });
    try {
      await client.callTool(
        { name: 'everything.trigger-long-running-operation', arguments: { duration: 20, steps: 20 } },
        { timeout: 60_000 },
      );
      return { ok: true };
    } catch (error) {
      return { ok: false, error: error as Error };
    } finally {
      await client.close().catch(() => undefined);
    }
  })();
}

before(async () => {
  stack = await startCliStack({}, { everything: everythingUpstream() });
  conn = stack.conn;
  await timeUntilCallsWork(10_000);
});

after(() => stack?.close());

test('kill -9 the relay: the in-flight call fails clearly, and calls work again within 5 s of its restart', async (t) => {
  const inFlight = slowCall();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const killedAt = Date.now();
  await stack.relay.kill('SIGKILL');
  const outcome = await inFlight;
  assert.equal(outcome.ok, false, 'the in-flight call must not silently succeed');
  assert.ok(outcome.error?.message, 'and it carries an error message');
  t.diagnostic(`in-flight call failed ${Date.now() - killedAt} ms after the kill: ${outcome.error?.message}`);
  stack.relay = await startCli(stack.relayArgs(stack.relayPort));
  // The relay process is listening again (its ready line is printed after listen()).
  const ms = await timeUntilCallsWork(5_000);
  t.diagnostic(`calls work again ${ms} ms after the new relay listens`);
  assert.ok(ms < 5_000);
});

test('kill -9 the connector: the in-flight call fails clearly, and calls work again within 5 s of its restart', async (t) => {
  const inFlight = slowCall();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const killedAt = Date.now();
  await stack.connector.kill('SIGKILL');
  const outcome = await inFlight;
  assert.equal(outcome.ok, false);
  assert.ok(outcome.error?.message, 'and it carries an error message');
  t.diagnostic(`in-flight call failed ${Date.now() - killedAt} ms after the kill: ${outcome.error?.message}`);
  stack.connector = await stack.startConnector();
  // The new connector process has loaded its config and started its upstreams and tunnels.
  const ms = await timeUntilCallsWork(5_000);
  t.diagnostic(`calls work again ${ms} ms after the new connector is up`);
  assert.ok(ms < 5_000);
});
