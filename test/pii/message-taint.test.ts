/**
 * Message taint (src/pii/message-taint.ts): a value a detector found in one part of a message is
 * replaced in every other part where it stands as a whole word, so the agent never sees a token next
 * to the raw value it stands for. Through the real boundary, vault and scanner.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { MessageTaint } from '../../src/pii/message-taint.js';
import { PiiBoundary } from '../../src/pii/pii-boundary.js';
import { PiiVault } from '../../src/pii/pii-vault.js';
import { deriveTenantPiiKeys } from '../../src/pii/tenant-pii-keys.js';
import { openStore } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';

const TOKEN = /\[\[NAME:[0-9a-f]+\]\]/;

describe('message taint on its own', () => {
  it('replaces whole words only, longest value first, and counts hits per class', () => {
    const taint = new MessageTaint();
    taint.record('NAME', 'Ada', '<A>');
    taint.record('NAME', 'Ada Lovelace', '<AL>');
    const out = taint.apply('Ada Lovelace met Ada, not Adam, in Canada; (Ada)');
    assert.equal(out?.text, '<AL> met <A>, not Adam, in Canada; (<A>)');
    assert.deepEqual([...(out?.hits ?? [])], [['NAME', 3]]);
  });

  it('tracks nothing too short, nothing unchanged, and leaves text without a match alone', () => {
    const taint = new MessageTaint();
    taint.record('NAME', 'Li', '<L>');
    taint.record('EMAIL', 'kept@example.com', 'kept@example.com');
    assert.equal(taint.size, 0);
    taint.record('NAME', 'Ada', '<A>');
    assert.equal(taint.apply('Adam and Canada'), undefined);
  });
});

describe('message taint through the boundary', () => {
  let store: Store | undefined;
  let boundary: PiiBoundary;
  let vault: PiiVault;

  before(async () => {
    store = await openStore({ url: 'sqlite::memory:' });
    vault = new PiiVault({
      tenant: 'acme',
      keys: deriveTenantPiiKeys('acme', randomBytes(32)),
      repository: store.vault,
    });
    boundary = new PiiBoundary({ vault });
  });
  after(() => store?.close());

  const profile = (text: string, name: string) => ({
    jsonrpc: '2.0',
    id: 1,
    result: { content: [{ type: 'text', text }], structuredContent: { name, age: 36 } },
  });

  it('tokenizes a name in the text that only the structured field gave away (text comes first)', async () => {
    const safe = await boundary.toAgent(profile('Ada, 36', 'Ada'), { answers: 'tools/call' });
    const result = safe?.result as { content: { text: string }[]; structuredContent: { name: string } };
    const token = result.structuredContent.name;
    assert.match(token, TOKEN);
    assert.equal(result.content[0]?.text, `${token}, 36`, 'the same token in the text');
    assert.equal(JSON.stringify(safe).includes('Ada'), false, 'the raw name is nowhere in the answer');
    assert.equal((await vault.resolve(token))?.value, 'Ada');
  });

  it('does not touch words that merely contain the value, nor binary data', async () => {
    const message = profile('Adam from Canada', 'Ada');
    const blob = Buffer.from('Ada').toString('base64');
    (message.result.content as unknown[]).push({ type: 'image', data: blob, mimeType: 'image/png' });
    const safe = await boundary.toAgent(message, { answers: 'tools/call' });
    const result = safe?.result as { content: { text?: string; data?: string }[] };
    assert.equal(result.content[0]?.text, 'Adam from Canada');
    assert.equal(result.content[1]?.data, blob);
  });

  it('reaches a value hidden in a key or in _meta of the same message', async () => {
    const message = profile('ok', 'Grace');
    (message.result as Record<string, unknown>)._meta = { note: 'for Grace', Grace: true };
    const safe = await boundary.toAgent(message, { answers: 'tools/call' });
    assert.equal(JSON.stringify(safe).includes('Grace'), false, JSON.stringify(safe));
  });
});
