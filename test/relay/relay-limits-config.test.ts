import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { relayConfigSchema } from '../../src/relay/config-schema.js';
import {
  DEFAULT_DRAIN_GRACE_MS,
  type RelayLimits,
  type RelayOptions,
  resolveRelayLimits,
} from '../../src/relay/relay-options.js';

const README = new URL('../../../README.md', import.meta.url);
/** Every limit `startRelay` knows, with its default (the keys of `RelayLimits` it resolves). */
const defaults = resolveRelayLimits({ domain: 'example.com' } as RelayOptions);
const limitKeys = Object.keys(defaults) as Array<keyof typeof defaults>;

/** The relay.yaml block of README's configuration reference. */
async function readmeRelayYaml(): Promise<{ text: string; value: Record<string, unknown> }> {
  const readme = await readFile(README, 'utf8');
  const section = readme.slice(readme.indexOf('### Relay (`relay.yaml`'));
  const text = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(text, 'README has the relay.yaml reference');
  return { text, value: parse(text) as Record<string, unknown> };
}

describe('relay limits in relay.yaml', () => {
  it('has a relay.yaml key for every limit of RelayOptions', () => {
    assert.ok(limitKeys.length >= 19, `${limitKeys.length} limits`);
    for (const key of limitKeys) {
      const parsed = relayConfigSchema.safeParse({ domain: 'example.com', limits: { [key]: defaults[key] } });
      assert.ok(parsed.success, `limits.${key} is a relay.yaml key: ${parsed.error?.message}`);
      assert.equal(parsed.data.limits[key], defaults[key]);
    }
  });

  it("defaults every limit to the component's DEFAULT_ constant", () => {
    const config = relayConfigSchema.parse({ domain: 'example.com' });
    for (const key of limitKeys) {
      if (key === 'relayHostFirstRequestTimeoutMs') continue; // derived: the headers timeout
      assert.equal(config.limits[key], defaults[key], `limits.${key}`);
    }
    assert.equal(config.limits.relayHostFirstRequestTimeoutMs, undefined);
    assert.equal(config.drainGraceMs, DEFAULT_DRAIN_GRACE_MS);
    // What startRelay resolves from the parsed file is what it resolves with no file at all.
    const fromFile = resolveRelayLimits({ domain: 'example.com', limits: config.limits } as RelayOptions);
    assert.deepEqual(fromFile, defaults);
  });

  it('documents every limit in README with its default, and the documented file is valid', async () => {
    const { value } = await readmeRelayYaml();
    const documented = value.limits as Record<string, unknown>;
    for (const key of limitKeys) {
      assert.ok(key in documented, `README's relay.yaml reference lists limits.${key}`);
      assert.equal(documented[key], defaults[key], `README shows the default of limits.${key}`);
    }
    assert.equal(value.drainGraceMs, DEFAULT_DRAIN_GRACE_MS);
    const parsed = relayConfigSchema.safeParse(value);
    assert.ok(parsed.success, parsed.error?.message);
  });

  it('refuses out-of-range and unknown limits', () => {
    const bad: Array<Partial<Record<keyof RelayLimits | 'maxTunnels', unknown>>> = [
      { maxTunnelsPerConnector: 0 },
      { maxStreamsPerTunnel: 0 },
      { websocketMaxPayload: 1024 }, // an HTTP/2 frame would not fit
      { maxEnrollBodyBytes: 64 * 1024 * 1024 },
      { tunnelHelloTimeoutMs: 10 },
      { tlsHandshakeTimeoutMs: 'soon' },
      { maxTenantSharePerSource: 0 },
      { maxTunnels: 4 },
    ];
    for (const limits of bad) {
      const parsed = relayConfigSchema.safeParse({ domain: 'example.com', limits });
      assert.equal(parsed.success, false, JSON.stringify(limits));
    }
  });
});
