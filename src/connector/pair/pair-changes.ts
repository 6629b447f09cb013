/**
 * Connector pair: every member of a tenant shares one store (PostgreSQL), and a change made on one
 * member reaches the others through the store's change feed (`LISTEN/NOTIFY`) instead of their next
 * poll. Notifications are hints; every member re-reads the store:
 *
 * | topic | published when | a member that hears it |
 * |---|---|---|
 * | `identities` | an identity or token subject is revoked / reinstated (CLI, console) | runs its revocation poll now: open connections of revoked identities close (the next request is refused anyway: authentication reads the store on every request) |
 * | `catalog` | a pin is approved or a tool disabled / enabled (CLI, console) | reloads pins and kill switch, tells agents `tools/list_changed` (every call already reads the catalog revision) |
 * | `approvals` | a request is approved, denied or voted on | wakes its held calls on that request, which re-read it and continue |
 * | `policy` | this member recorded a new policy version (its file changed) | applies the store's newest version (`PolicyWatcher.adopt`) |
 * | `resync` | the feed reconnected (notifications may have been lost) | all of the above |
 *
 * Policy in a pair: the store's newest policy version is the source of truth. A member whose policy
 * file changes records the new version and publishes `policy`; the others load that version's text
 * from `store.policyVersions` and apply it (parsed and checked like a file; an invalid one is
 * refused and the previous policy stays). A member's own file is recorded again only when that file
 * changes (or at start-up when it differs from the newest version), so keep the members' files equal.
 *
 * @example
 * const stop = followPairChanges({ store, watcher, pinning, approvals, endpoint, logger });
 * // ... on close
 * stop();
 */
import type { Logger } from 'pino';
import type { ApprovalQueue } from '../../approvals/approval-queue.js';
import type { ToolPinning } from '../../catalog/tool-pinning.js';
import type { PolicyChange, PolicyWatcher } from '../../policy/policy-watcher.js';
import type { Change, ChangeTopic } from '../../store/change-feed.js';
import type { Store } from '../../store/store.js';

export interface PairChangeTargets {
  store: Store;
  watcher: PolicyWatcher | undefined;
  pinning: Pick<ToolPinning, 'refresh'>;
  approvals: Pick<ApprovalQueue, 'wakeHeld' | 'on' | 'off'>;
  endpoint: { checkRevocations(): Promise<void> };
  logger: Logger;
}

/** Approval changes another member must hear about (the others are local or come from the store). */
const ANNOUNCED_APPROVAL_CHANGES = new Set(['approved', 'denied', 'voted']);

/**
 * Publishes this member's changes (new policy versions, approval decisions) and applies the other
 * members' (see the table above). Returns the function that stops both.
 */
export function followPairChanges(t: PairChangeTargets): () => void {
  const log = t.logger.child({ part: 'pair' });
  const fail = (what: string) => (err: unknown) =>
    log.warn({ err: err instanceof Error ? err.message : String(err) }, what);
  const publish = (topic: ChangeTopic, detail?: Change['detail']) =>
    void t.store.changes.publish(topic, detail).catch(fail(`publishing a ${topic} change failed`));

  const onIdentities = () => void t.endpoint.checkRevocations().catch(fail('revocation check failed'));
  const onCatalog = () => void t.pinning.refresh(true).catch(fail('catalog refresh failed'));
  const onApprovals = (change?: Change) => {
    const id = change?.detail?.id;
    t.approvals.wakeHeld(typeof id === 'string' ? id : undefined);
  };
  /** Seqs applied from the store: not announced again (the member that recorded them did). */
  const adopted = new Set<number>();
  const onPolicy = () => {
    const watcher = t.watcher;
    if (!watcher) return;
    void (async () => {
      const latest = await t.store.policyVersions.latestPolicyVersion();
      if (!latest) return;
      adopted.add(latest.seq);
      const result = await watcher.adopt(latest);
      if (result.outcome === 'changed') log.info({ seq: latest.seq }, 'policy of another member applied');
    })().catch(fail('applying the stored policy failed'));
  };

  const offs = [
    t.store.changes.subscribe('identities', onIdentities),
    t.store.changes.subscribe('catalog', onCatalog),
    t.store.changes.subscribe('approvals', onApprovals),
    t.store.changes.subscribe('policy', onPolicy),
    t.store.changes.subscribe('resync', () => {
      onIdentities();
      onCatalog();
      onApprovals();
      onPolicy();
    }),
  ];

  const onPolicyChange = (change: PolicyChange) => {
    const seq = change.version?.seq;
    if (seq === undefined || adopted.has(seq)) return;
    publish('policy', { seq });
  };
  t.watcher?.on('change', onPolicyChange);
  // This member may have recorded its file at start-up: the others apply it if it is the newest.
  if (t.watcher?.version) publish('policy', { seq: t.watcher.version.seq });
  const onApprovalChange = (change: { type: string; approval?: { id: string } }) => {
    if (ANNOUNCED_APPROVAL_CHANGES.has(change.type) && change.approval)
      publish('approvals', { id: change.approval.id });
  };
  t.approvals.on('change', onApprovalChange);

  return () => {
    for (const off of offs) off();
    t.watcher?.off('change', onPolicyChange);
    t.approvals.off('change', onApprovalChange);
  };
}

/**
 * Announces a change made by a short-lived process (a CLI command) to the running members; the change
 * itself is already stored, so a failed announcement is reported but not fatal.
 *
 * @example
 * await revokeAgentIdentity(store, 'claims-bot');
 * await announceChange(store, 'identities', { name: 'claims-bot' });
 */
export async function announceChange(
  store: Store,
  topic: ChangeTopic,
  detail?: Change['detail'],
): Promise<void> {
  await store.changes.publish(topic, detail).catch((err: unknown) => {
    process.stderr.write(
      `warning: the change is stored, but other connectors were not notified (${err instanceof Error ? err.message : String(err)}); they apply it at their next poll\n`,
    );
  });
}
