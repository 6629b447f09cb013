/**
 * What the gateway tells agents about itself, from its upstreams: the capabilities they have (a list
 * some upstream serves, completions, logging, resource subscriptions) and their `instructions`, merged
 * (each under its upstream's name when names are prefixed). What an upstream had stays known while it
 * restarts; before any upstream was ever seen, every capability the gateway can serve is advertised.
 *
 * @example
 * const face = new CatalogFace(catalog.upstreams, { prefix: true });
 * new Server(info, { capabilities: face.capabilities(), instructions: face.instructions('Airlock: governed tools') });
 */
import type { ServerCapabilities } from '@modelcontextprotocol/server';
import { declaresTasksExtension } from './task-extension.js';
import type { Upstream } from './upstream.js';

/** Everything the gateway can serve: advertised until an upstream was seen. */
export const DEFAULT_AGENT_CAPABILITIES: ServerCapabilities = {
  tools: { listChanged: true },
  prompts: { listChanged: true },
  resources: { listChanged: true, subscribe: true },
  completions: {},
  logging: {},
};

/** Longest merged `instructions` text forwarded to agents (characters); longer texts are cut. */
export const MAX_FORWARDED_INSTRUCTIONS_LENGTH = 16_384;

interface Known {
  capabilities: ServerCapabilities;
  instructions: string | undefined;
}

export class CatalogFace {
  readonly #upstreams: readonly Upstream[];
  readonly #prefix: boolean;
  readonly #known = new Map<string, Known>();

  constructor(upstreams: readonly Upstream[], options: { prefix: boolean }) {
    this.#upstreams = upstreams;
    this.#prefix = options.prefix;
  }

  /**
   * The capabilities to advertise: a kind is present when an upstream has it (the gateway itself sends
   * `list_changed` for the lists it serves, e.g. after the kill switch).
   */
  capabilities(): ServerCapabilities {
    const known = this.#refresh();
    if (known.length === 0) return DEFAULT_AGENT_CAPABILITIES;
    const has = (pick: (c: ServerCapabilities) => unknown) => known.some((k) => pick(k.capabilities));
    const caps: ServerCapabilities = {};
    if (has((c) => c.tools)) caps.tools = { listChanged: true };
    if (has((c) => c.prompts)) caps.prompts = { listChanged: true };
    if (has((c) => c.resources)) {
      caps.resources = { listChanged: true, subscribe: has((c) => c.resources?.subscribe === true) };
    }
    if (has((c) => c.completions)) caps.completions = {};
    if (has((c) => c.logging)) caps.logging = {};
    // 2025-11-25 tasks, relayed by task-routes.ts (2026-07-28 agents never see it: the SDK strips it).
    if (has((c) => c.tasks?.requests?.tools?.call)) {
      caps.tasks = { requests: { tools: { call: {} } }, cancel: {}, list: {} };
    }
    return caps;
  }

  /**
   * Whether an upstream offers the 2026-07-28 tasks extension (`capabilities.extensions`, SEP-2663):
   * then it is advertised to 2026-07-28 agents (`server/discover`), and relayed (task-routes.ts).
   */
  offersTasksExtension(): boolean {
    return this.#refresh().some((k) => declaresTasksExtension(k.capabilities));
  }

  /** `own` (the gateway's text, if any) followed by each upstream's instructions, in config order. */
  instructions(own?: string): string | undefined {
    const parts = own ? [own] : [];
    for (const u of this.#upstreams) {
      const text = this.#known.get(u.name)?.instructions ?? this.#read(u)?.instructions;
      if (text) parts.push(this.#prefix ? `## ${u.name}\n${text}` : text);
    }
    const merged = parts.join('\n\n');
    return merged === '' ? undefined : merged.slice(0, MAX_FORWARDED_INSTRUCTIONS_LENGTH);
  }

  #refresh(): Known[] {
    const known: Known[] = [];
    for (const u of this.#upstreams) {
      const k = this.#read(u) ?? this.#known.get(u.name);
      if (k) known.push(k);
    }
    return known;
  }

  /** What a connected upstream says now (remembered for when it restarts). */
  #read(u: Upstream): Known | undefined {
    const capabilities = u.capabilities();
    if (!capabilities) return undefined;
    const known = this.#known.get(u.name);
    if (known?.capabilities === capabilities) return known; // same connection: nothing to read again
    const k: Known = { capabilities, instructions: u.status().instructions };
    this.#known.set(u.name, k);
    return k;
  }
}
