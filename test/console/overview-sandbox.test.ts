/**
 * The console overview shows each upstream's sandbox state (sandboxed, or unsandboxed and why) and
 * warns loudly when one runs without a sandbox; the demo's banner says it uses `preferred`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderOverviewBody } from '../../src/console/overview-page.js';
import { DEMO_SANDBOX_WARNING, demoSandboxBanner } from '../../src/demo/demo.js';

describe('sandbox state on the overview', () => {
  it('shows sandboxed and unsandboxed upstreams with the reason, and a warning for the latter', async () => {
    const body = String(
      await renderOverviewBody({
        status: {
          tenant: 'acme',
          tenantHost: 'acme.localhost',
          tunnels: [],
          upstreams: [
            { name: 'erp', state: 'ready', restarts: 0, kind: 'stdio', sandboxed: true },
            {
              name: 'everything',
              state: 'ready',
              restarts: 0,
              kind: 'stdio',
              sandboxed: false,
              unsandboxedReason: 'bubblewrap (bwrap) is not installed',
            },
            { name: 'wiki', state: 'ready', restarts: 0, kind: 'http' },
          ],
        },
        sessions: undefined,
        activity: undefined,
        pendingApprovals: 0,
        now: Date.now(),
      }),
    );
    assert.match(
      body,
      /<code>erp<\/code><\/td><td><span class="pill ok">ready<\/span><\/td><td><span class="pill ok">sandboxed<\/span>/,
    );
    assert.match(body, /unsandboxed<\/span> <span class="muted">bubblewrap \(bwrap\) is not installed/);
    assert.match(
      body,
      /data-sandbox-warning><strong>Not sandboxed:<\/strong> everything runs as the connector/,
    );
    assert.match(body, /n\/a \(HTTP\)/);
  });

  it('no warning when every stdio upstream is sandboxed', async () => {
    const body = String(
      await renderOverviewBody({
        status: {
          tenant: 'acme',
          tenantHost: 'acme.localhost',
          tunnels: [],
          upstreams: [{ name: 'erp', state: 'ready', restarts: 0, kind: 'stdio', sandboxed: true }],
        },
        sessions: undefined,
        activity: undefined,
        pendingApprovals: 0,
        now: Date.now(),
      }),
    );
    assert.doesNotMatch(body, /data-sandbox-warning/);
  });

  it('the demo banner says "preferred" loudly and lists each upstream', () => {
    const banner = demoSandboxBanner({
      sandbox: {
        mode: 'preferred',
        warning: DEMO_SANDBOX_WARNING,
        upstreams: [
          { name: 'erp', sandboxed: true },
          { name: 'everything', sandboxed: false },
        ],
      },
    });
    assert.match(banner, /WARNING: this demo runs its sample MCP servers with sandbox\.mode "preferred"/);
    assert.match(banner, /defaults to "required"/);
    assert.match(banner, /erp\s+sandboxed\n/);
    assert.match(banner, /everything\s+UNSANDBOXED/);
  });
});
