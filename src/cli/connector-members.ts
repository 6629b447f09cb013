/**
 * `airlock connector list`: every connector of the tenant as the relay knows it (state, tunnels, last
 * seen) and every member of the pair as it reports itself in the shared store (heartbeat: version,
 * tunnels, upstreams up or down, audit signer, ready; `stale` when the heartbeat is old).
 *
 * @example
 * await listConnectorMembers({ config: 'connector.yaml', json: false });
 */
import type { ConnectorContext } from '../connector/connector-context.js';
import { DEFAULT_MEMBER_STALE_MS, isStaleMember } from '../connector/pair/member-heartbeat.js';
import type { MemberRecord } from '../store/store.js';
import { withConnectorStore } from './connector-store.js';

/** A member as listed: its heartbeat and whether it is stale. */
export type ListedMember = MemberRecord & { stale: boolean };

/** One line per member, for people. */
export function formatMember(m: ListedMember, me: string | undefined): string {
  const upstreams = m.upstreams.map((u) => `${u.name}:${u.up ? 'up' : 'down'}`).join(',') || '-';
  const flags = [
    m.stale ? 'STALE' : m.ready ? 'ready' : 'not-ready',
    ...(m.auditSigner ? ['audit-signer'] : []),
    ...(m.id === me ? ['(this connector)'] : []),
  ];
  const seen = new Date(m.updatedAt).toISOString();
  return `${m.id}\tv${m.version}\ttunnels=${m.tunnels.up}/${m.tunnels.wanted}\tupstreams=${upstreams}\t${flags.join(' ')}\theartbeat ${seen}\t${m.host}:${m.pid}`;
}

/** Every member's heartbeat from the connector store. */
export async function listMembers(configFile: string, now = Date.now()): Promise<ListedMember[]> {
  return withConnectorStore(configFile, async (_ctx: ConnectorContext, store) => {
    const members = await store.members.listMembers();
    return members.map((m) => ({ ...m, stale: isStaleMember(m, now, DEFAULT_MEMBER_STALE_MS) }));
  });
}
