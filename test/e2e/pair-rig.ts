/**
 * The set-up every connector-pair e2e test file shares: one pair (pair-stack.ts) started in `before`
 * with the file's policy and its agent identities issued, and closed in `after` together with every
 * agent connection the tests opened, even when a test failed half-way.
 *
 * @example
 * const rig = pairRig(testPolicy({ tiers: { 'everything.get-sum': 'approve' } }));
 * test('…', async () => {
 *   const onA = await rig.client('A');
 *   await runCli(['approvals', 'list', '-c', rig.pair.config.B]);
 * });
 */
import { after, before } from 'node:test';
import type { Client } from '@modelcontextprotocol/client';
import { type Member, type PairStack, startPair } from './pair-stack.js';

export interface PairRigOptions {
  /** Extra connector config sections for both members (e.g. `approvals`, `audit`). */
  extra?: object;
  /** Agent identities issued before the tests. Default `['agent-1']`. */
  agents?: string[];
}

export interface PairRig {
  /** The running pair (set in `before`). */
  readonly pair: PairStack;
  /** A new agent connection (closed in `after`), through the relay or straight to one member. */
  client(via: 'relay' | Member, agent?: string): Promise<Client>;
}

/** Registers `before`/`after` hooks in the calling file (or describe block) and returns the rig. */
export function pairRig(policy: string, options: PairRigOptions = {}): PairRig {
  let pair: PairStack | undefined;
  const clients: Client[] = [];
  before(async () => {
    pair = await startPair(policy, options.extra);
    for (const agent of options.agents ?? ['agent-1']) await pair.issue(agent);
  });
  after(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await pair?.close();
  });
  const rig: PairRig = {
    get pair() {
      if (!pair) throw new Error('the pair is not started (pairRig hooks have not run)');
      return pair;
    },
    async client(via, agent) {
      const c = await rig.pair.connect(via, agent);
      clients.push(c);
      return c;
    },
  };
  return rig;
}
