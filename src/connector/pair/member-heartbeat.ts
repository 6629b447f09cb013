/**
 * The member heartbeat of a connector pair: every `intervalMs` each member writes one row into the
 * shared store — its connector id, version, host and pid, tunnels up, each upstream up or down,
 * whether it signs the audit checkpoints, whether it is ready (its own `/readyz`). `airlock connector
 * list` and the console's overview read every member's row; a row older than `staleAfterMs` is shown
 * as stale (its member stopped or lost the store). On SQLite the one member reports itself the same way.
 *
 * @example
 * const heartbeat = startMemberHeartbeat({ store, id: 'c-7f3a', status, readiness, auditSigner: () => ledger.checkpointSigner });
 * await heartbeat.stop();
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { type Logger, pino } from 'pino';
import type { ConnectorStatus } from '../../console/connector-status.js';
import type { MemberRecord, Store } from '../../store/store.js';
import type { ReadinessReport } from '../health/connector-readiness.js';

/** How often a member writes its heartbeat. */
export const DEFAULT_MEMBER_HEARTBEAT_MS = 5_000;
/** How often a member checks whether what it reports changed (signer, tunnels, upstreams), to beat at once. */
export const DEFAULT_MEMBER_CHANGE_CHECK_MS = 1_000;
export { DEFAULT_MEMBER_STALE_MS, isStaleMember } from '../../store/member-repository.js';

export interface MemberHeartbeatOptions {
  store: Store;
  /** This member's connector id. */
  id: string;
  /** Tunnels and upstreams, as the console shows them. */
  status: () => ConnectorStatus;
  /** What `/readyz` answers. */
  readiness: () => Promise<ReadinessReport>;
  /** Whether this member holds the audit signer lease. */
  auditSigner: () => boolean;
  /** Default `DEFAULT_MEMBER_HEARTBEAT_MS` (5 s). */
  intervalMs?: number;
  /** Default `DEFAULT_MEMBER_CHANGE_CHECK_MS` (1 s): a change of signer, tunnels or upstreams beats at once. */
  changeCheckMs?: number;
  now?: () => number;
  logger?: Logger;
}

export interface MemberHeartbeat {
  /** Writes the heartbeat now (also done every interval). */
  beat(): Promise<void>;
  stop(): Promise<void>;
}

/** See the module comment. The first beat is written before this resolves. */
export async function startMemberHeartbeat(opts: MemberHeartbeatOptions): Promise<MemberHeartbeat> {
  const now = opts.now ?? Date.now;
  const log = (opts.logger ?? pino({ level: 'silent' })).child({ part: 'pair-member' });
  const startedAt = now();
  const version = airlockPackageVersion();
  let writing: Promise<void> | undefined;
  let reported = '';
  const beat = async () => {
    reported = reportedState(opts);
    const record = memberRecord(opts, { version, startedAt, updatedAt: now() }, await opts.readiness());
    await opts.store.members.putMember(record);
  };
  const tick = () => {
    if (writing) return;
    writing = beat()
      .catch((err: unknown) => log.warn({ err: String(err) }, 'member heartbeat not written'))
      .finally(() => {
        writing = undefined;
      });
  };
  await beat().catch((err: unknown) => log.warn({ err: String(err) }, 'member heartbeat not written'));
  const timer = setInterval(tick, Math.max(100, opts.intervalMs ?? DEFAULT_MEMBER_HEARTBEAT_MS));
  timer.unref();
  const check = setInterval(
    () => {
      if (reportedState(opts) !== reported) tick();
    },
    Math.max(50, opts.changeCheckMs ?? DEFAULT_MEMBER_CHANGE_CHECK_MS),
  );
  check.unref();
  return {
    beat,
    async stop() {
      clearInterval(timer);
      clearInterval(check);
      await writing;
    },
  };
}

/** The row a member writes. */
export function memberRecord(
  opts: Pick<MemberHeartbeatOptions, 'id' | 'status' | 'auditSigner'>,
  times: { version: string; startedAt: number; updatedAt: number },
  readiness: ReadinessReport,
): MemberRecord {
  const status = opts.status();
  return {
    id: opts.id,
    ...times,
    host: hostname(),
    pid: process.pid,
    tunnels: { up: status.tunnels.filter((t) => t.state === 'up').length, wanted: status.tunnels.length },
    upstreams: status.upstreams.map((u) => ({ name: u.name, up: u.state === 'ready' })),
    auditSigner: opts.auditSigner(),
    ready: readiness.ready,
  };
}

/** What a change of should be reported at once: the signer, tunnel and upstream states. */
function reportedState(opts: Pick<MemberHeartbeatOptions, 'status' | 'auditSigner'>): string {
  const status = opts.status();
  return JSON.stringify([
    opts.auditSigner(),
    status.tunnels.map((t) => t.state),
    status.upstreams.map((u) => u.state),
  ]);
}

/** The installed package's version (`dist/src/connector/pair/*.js` → `../../../../package.json`). */
function airlockPackageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8'));
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}
