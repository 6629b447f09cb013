/**
 * What an attacker with shell access to the connector does to its store, as test helpers: edit rows,
 * and rewrite the chain from some entry on so that it is self-consistent again (re-hashed, local
 * checkpoints re-signed with whatever key the attacker holds).
 */
import { entryHash, entryLeafHash } from '../../src/audit/audit-entry.js';
import type { AuditSigningKey } from '../../src/audit/audit-key.js';
import { signCheckpoint } from '../../src/audit/audit-signing.js';
import { MerkleTree } from '../../src/audit/merkle-tree.js';
import type { SqlDialect } from '../../src/store/dialect.js';

/**
 * Applies `edit` to the entries it selects, re-hashes the chain from the first change on, and
 * replaces every local checkpoint by one signed with `key` over the forged tree.
 */
export async function consistentRewrite(
  raw: SqlDialect,
  tenant: string,
  key: AuditSigningKey,
  edit: (entry: Record<string, unknown>) => boolean,
): Promise<void> {
  const rows = await raw.query<{ seq: number; entry: string }>(
    'SELECT seq, entry FROM audit_entries ORDER BY seq',
  );
  const tree = new MerkleTree();
  let prev: string | undefined;
  let changed = false;
  for (const row of rows) {
    const e = JSON.parse(row.entry) as Record<string, unknown>;
    const edited = edit(e);
    if (changed || edited) {
      changed = true;
      if (prev !== undefined) e.prevHash = prev;
      e.hash = entryHash(e);
      await raw.run('UPDATE audit_entries SET hash = ?, entry = ? WHERE seq = ?', [
        String(e.hash),
        JSON.stringify(e),
        Number(row.seq),
      ]);
    }
    prev = String(e.hash);
    tree.append(entryLeafHash(e));
  }
  await raw.run('DELETE FROM audit_checkpoints');
  if (tree.size === 0) return;
  const cp = signCheckpoint(key, { tenant, treeSize: tree.size, rootHash: tree.root(), time: Date.now() });
  await raw.run(
    'INSERT INTO audit_checkpoints (tree_size, head_hash, time, checkpoint) VALUES (?, ?, ?, ?)',
    [cp.treeSize, cp.rootHash, cp.time, JSON.stringify(cp)],
  );
}

/** Turns the first refused request at or after `fromSeq` into an allowed one (no re-hash). */
export function allowRefusal(fromSeq: number) {
  let done = false;
  return (e: Record<string, unknown>): boolean => {
    if (done || Number(e.seq) < fromSeq || e.kind !== 'request' || e.decision === 'allow') return false;
    e.decision = 'allow';
    e.code = null;
    done = true;
    return true;
  };
}
