/**
 * `tls.acme` in the connector's config: a publicly trusted certificate for the tenant host name from an
 * ACME CA (RFC 8555), so that hosted agents (which cannot pin the tenant CA) can connect. The challenge
 * is TLS-ALPN-01 through the relay by default; with `dns01Hook` it is DNS-01, answered by a command of
 * yours that publishes the TXT record (for relay domains the CA cannot reach).
 *
 * @example
 * ```yaml
 * tls:
 *   acme:
 *     directoryUrl: https://acme-v02.api.letsencrypt.org/directory
 *     contact: ops@acme.example
 *     renewBeforeDays: 30
 *     # dns01Hook: { command: /usr/local/bin/publish-txt, args: [--zone, acme.example] }
 * ```
 */
import { z } from 'zod';
import { DEFAULT_ACME_CHECK_INTERVAL_MS } from './acme-certificate.js';
import { DEFAULT_DNS01_HOOK_TIMEOUT_MS } from './dns01-hook.js';

/** Renew when fewer than this many days are left (a third of a 90-day certificate). */
export const DEFAULT_ACME_RENEW_BEFORE_DAYS = 30;

export const acmeConfigSchema = z.strictObject({
  /** The CA's ACME directory (https), e.g. Let's Encrypt's `https://acme-v02.api.letsencrypt.org/directory`. */
  directoryUrl: z.url({ protocol: /^https$/, error: 'expected the https URL of an ACME directory' }),
  /** E-mail for the ACME account (expiry notices). */
  contact: z.email().optional(),
  /** PEM of a CA to trust for the directory's own HTTPS (a private or test CA); default: the system roots. */
  directoryCaFile: z.string().min(1).optional(),
  /** Renew when fewer than this many days are left (default 30). */
  renewBeforeDays: z.number().int().min(1).max(365).default(DEFAULT_ACME_RENEW_BEFORE_DAYS),
  /** How often the expiry is checked (default 1 h). */
  checkIntervalMs: z.number().int().min(1000).max(86_400_000).default(DEFAULT_ACME_CHECK_INTERVAL_MS),
  /**
   * DNS-01 instead of TLS-ALPN-01: `command args... create|remove <record name> <value>` publishes or
   * removes the TXT record `_acme-challenge.<tenant host>` (also in `AIRLOCK_ACME_DNS_NAME` /
   * `AIRLOCK_ACME_DNS_VALUE`). It must exit 0 once the record is visible to the CA.
   */
  dns01Hook: z
    .strictObject({
      command: z.string().min(1),
      args: z.array(z.string()).default([]),
      /** Each run must finish within this time (default 120 s). */
      timeoutMs: z.number().int().min(1000).max(3_600_000).default(DEFAULT_DNS01_HOOK_TIMEOUT_MS),
    })
    .optional(),
});

export const connectorTlsSchema = z.strictObject({
  /** Obtain and renew a publicly trusted certificate for the tenant host name (hosted agents). */
  acme: acmeConfigSchema.optional(),
});

export type AcmeConfig = z.infer<typeof acmeConfigSchema>;
