/**
 * Notification of new pending approvals to a webhook, with a Slack-compatible payload
 * (`{ text, blocks }`, accepted as is by Slack incoming webhooks and by Mattermost / Rocket.Chat /
 * Teams workflows that read `text`). The payload names the agent, the tool, the approval id and the
 * expiry, never the arguments (they may carry personal data); supervisors review them in the console.
 *
 * Delivery is fire-and-forget with a timeout: a slow or failing webhook never delays an agent's call.
 *
 * @example
 * await postApprovalWebhook({ url: 'https://hooks.slack.com/services/T000/B000/XXXX', consoleUrl: 'http://127.0.0.1:7070' }, approval);
 */
import { fetch } from 'undici';
import type { ApprovalRecord } from '../store/store.js';

/** How long one webhook POST may take before it is abandoned. */
export const DEFAULT_APPROVAL_WEBHOOK_TIMEOUT_MS = 5_000;

export interface ApprovalWebhookOptions {
  /** HTTPS (or, inside the network, HTTP) URL that accepts a JSON POST. */
  url: string;
  /** Default {@link DEFAULT_APPROVAL_WEBHOOK_TIMEOUT_MS} (5 s). */
  timeoutMs?: number;
  /** Base URL of the console, for a "Review" link, e.g. `http://127.0.0.1:7070`. */
  consoleUrl?: string;
  /** Extra request headers (e.g. an authorization header of the receiving service). */
  headers?: Record<string, string>;
}

/** Slack Block Kit payload. */
export interface ApprovalWebhookPayload {
  text: string;
  blocks: Array<Record<string, unknown>>;
}

/**
 * The payload for a new pending approval.
 *
 * @example
 * approvalWebhookPayload(approval, 'http://127.0.0.1:7070').text
 * // 'Approval needed: claims-bot wants to call erp.refund (approval apr_…, expires 2026-…Z)'
 */
export function approvalWebhookPayload(
  approval: ApprovalRecord,
  consoleUrl?: string,
): ApprovalWebhookPayload {
  const expires = new Date(approval.expiresAt).toISOString();
  const text = `Approval needed: ${approval.identity} wants to call ${approval.tool} (approval ${approval.id}, expires ${expires})`;
  const blocks: Array<Record<string, unknown>> = [
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*Approval needed*\n\`${slackEscape(approval.identity)}\` wants to call \`${slackEscape(approval.tool)}\``,
      },
    },
    {
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `Approval \`${approval.id}\` · expires ${expires}` }],
    },
  ];
  if (consoleUrl) {
    const link = `${consoleUrl.replace(/\/+$/, '')}/approvals#approval-${approval.id}`;
    blocks.push({
      type: 'actions',
      elements: [
        { type: 'button', text: { type: 'plain_text', text: 'Review in the Airlock console' }, url: link },
      ],
    });
  }
  return { text, blocks };
}

/**
 * POSTs the payload; resolves when the webhook answered 2xx, rejects otherwise (HTTP status or
 * timeout). Callers that must not wait use it without `await` and log the rejection.
 */
export async function postApprovalWebhook(
  options: ApprovalWebhookOptions,
  approval: ApprovalRecord,
  signal?: AbortSignal,
): Promise<void> {
  const timeout = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_APPROVAL_WEBHOOK_TIMEOUT_MS);
  const response = await fetch(options.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    body: JSON.stringify(approvalWebhookPayload(approval, options.consoleUrl)),
    signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
  });
  await response.body?.cancel().catch(() => {});
  if (!response.ok) throw new Error(`approval webhook answered HTTP ${response.status}`);
}

/** Slack mrkdwn control characters. */
function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/`/g, "'");
}
