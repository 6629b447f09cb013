/**
 * Builds the approval cards and pages the approvals sub-apps share: the pending cards (each with its
 * facts and the earlier decided calls to compare with), the approvals page with a notice, and the
 * snapshot the live stream sends.
 *
 * @example
 * const cards = approvalCards(deps);
 * return cards.page(c, undefined, 200);
 */
import type { ApprovalRecord } from '../store/store.js';
import { approvalView, renderApprovalCard } from './approval-card.js';
import { approvalFacts, decidedHistory } from './approval-facts.js';
import { renderApprovalsBody, renderRecentRows } from './approvals-page.js';
import type { ConsoleDeps } from './console-deps.js';
import type { Ctx } from './console-env.js';
import type { Html, Notice, Viewer } from './console-layout.js';

/** Recent decisions listed under the queue. */
export const DEFAULT_RECENT_DECISIONS = 20;

export interface ApprovalCards {
  /** The card of one request (`reveal`: unmasked values). */
  card(record: ApprovalRecord, viewer: Viewer, reveal: boolean): Promise<Html>;
  /** The approvals page with an optional notice. */
  page(c: Ctx, notice: Notice | undefined, status: number): Promise<Response>;
  /** What the live stream sends: pending count, card fragments, recent-decision rows. */
  snapshot(viewer: Viewer): Promise<{
    count: number;
    items: Array<{ id: string; tool: string; identity: string; html: string }>;
    recentHtml: string;
  }>;
}

/** See the module comment. */
export function approvalCards(deps: ConsoleDeps): ApprovalCards {
  const { queue, store, options } = deps;
  const sources = { catalog: store.catalog, policy: options.policy };

  async function card(record: ApprovalRecord, viewer: Viewer, reveal: boolean): Promise<Html> {
    const [facts, decided] = await Promise.all([
      approvalFacts(record, sources),
      decidedHistory(queue, record),
    ]);
    const view = approvalView(record, decided, facts);
    return renderApprovalCard(view, { viewer, scanner: deps.scanner, now: deps.now(), reveal });
  }

  async function pendingCards(viewer: Viewer) {
    const records = await queue.pending();
    const cards = await Promise.all(records.map((r) => card(r, viewer, false)));
    return { records, cards };
  }

  const recent = () =>
    queue.list({ status: ['approved', 'denied', 'expired'], limit: DEFAULT_RECENT_DECISIONS });

  return {
    card,
    async page(c, notice, status) {
      const { cards } = await pendingCards(c.get('viewer'));
      const body = renderApprovalsBody({
        cards,
        recent: await recent(),
        now: deps.now(),
        holdSeconds: Math.round(queue.holdMs / 1000),
      });
      return deps.page(c, 'Approvals', 'approvals', body, { status, ...(notice ? { notice } : {}) });
    },
    async snapshot(viewer) {
      const { records, cards } = await pendingCards(viewer);
      const items = await Promise.all(
        records.map(async (r, i) => ({
          id: r.id,
          tool: r.tool,
          identity: r.identity,
          html: String(await cards[i]),
        })),
      );
      const recentHtml = String(await renderRecentRows(await recent(), deps.now()));
      return { count: records.length, items, recentHtml };
    },
  };
}
