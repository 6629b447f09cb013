/**
 * The conformance run's second leg: an MCP server put behind Airlock (relay, tunnel, connector with
 * its gateway pipeline, and a local forwarder presenting the agent certificate), so the suite's plain
 * HTTP client reaches it the way an agent would. See ./conformance.ts.
 */
import { type LocalForwarder, startLocalForwarder } from '../src/agent/local-forwarder.js';
import { type Stack, startStack } from '../test/e2e/airlock-stack.js';

/** Name of the fixture upstream in the connector configuration. */
export const CONFORMANCE_UPSTREAM_NAME = 'conf';

export interface ThroughAirlock {
  /** Where the conformance CLI connects: the local forwarder, e.g. `http://127.0.0.1:43121/mcp`. */
  url: string;
  /** The tenant URL behind the forwarder (`https://<tenant>.localhost:<relay port>/mcp`). */
  tenantUrl: string;
  stack: Stack;
  forwarder: LocalForwarder;
  close(): Promise<void>;
}

/**
 * Puts the MCP server at `upstreamUrl` behind Airlock: a relay and an enrolled connector (test/e2e
 * harness) whose only upstream is that server over HTTP, exposed un-namespaced (`mcp.namespace: none`),
 * and a transparent local forwarder (`allowedHostnames: 'any'`) that presents the tenant's agent
 * certificate, so a plain-HTTP client reaches it through relay, tunnel, connector and gateway pipeline.
 *
 * @example
 * const airlock = await startThroughAirlock(fixture.url);
 * await runConformance(airlock.url);
 * await airlock.close();
 */
export async function startThroughAirlock(
  upstreamUrl: string,
  /** A tool the upstream lists: seen un-namespaced through the connector before the run starts. */
  expectTool = 'test_simple_text',
): Promise<ThroughAirlock> {
  const stack = await startStack({
    tenants: ['conformance'],
    upstreams: () => ({ [CONFORMANCE_UPSTREAM_NAME]: { url: upstreamUrl } }),
    // Un-namespaced from the first start, so the fixture's first catalog is pinned under its own names.
    connector: { mcp: { namespace: 'none' } },
  });
  let forwarder: LocalForwarder | undefined;
  try {
    const tenant = stack.tenant('conformance');
    const names = tenant.connector.catalog.tools().map((t) => t.name);
    if (!names.includes(expectTool)) {
      throw new Error(
        `the connector does not list the upstream's tools un-namespaced (got ${names.join(', ')})`,
      );
    }
    // Transparent: foreign Host/Origin values reach the connector, so `dns-rebinding-protection`
    // measures Airlock's own check (the connector's agent endpoint), not the forwarder's.
    forwarder = await startLocalForwarder(tenant.connection(), { allowedHostnames: 'any' });
    const fwd = forwarder;
    return {
      url: fwd.url,
      tenantUrl: tenant.url,
      stack,
      forwarder: fwd,
      close: async () => {
        await fwd.close();
        await stack.close();
      },
    };
  } catch (err) {
    await forwarder?.close();
    await stack.close();
    throw err;
  }
}
