/**
 * `tls.acme` in the running connector: an {@link AcmeCertificate} for the tenant host name, started once
 * the first tunnel is up (the CA's TLS-ALPN-01 validation reaches us through the relay), retried with
 * backoff until the first certificate is in, and stopped on close. Every certificate it obtains (or
 * finds on disk) is handed to `onCertificate` (the agent endpoint swaps its TLS context).
 *
 * @example
 * const acme = await openConnectorAcme(ctx.config.tls.acme, { dataDir, hostname, resolvePath,
 *   onCertificate: (c) => endpoint.setCertificate(c), logger });
 * acme.start(() => connector.whenTunnelUp());
 */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { Backoff } from '../../supervision/backoff.js';
import { AcmeCertificate, DEFAULT_ACME_RETRY_MAX_MS } from './acme-certificate.js';
import type { AcmeConfig } from './acme-config.js';
import type { IssuedAcmeCertificate } from './acme-issuer.js';
import { Dns01Hook } from './dns01-hook.js';

/** First retry of a failed first order after this delay (doubling up to 15 min). */
export const DEFAULT_ACME_FIRST_RETRY_MS = 5_000;

export interface ConnectorAcmeOptions {
  dataDir: string;
  hostname: string;
  /** Resolves `directoryCaFile` the way the connector resolves paths (relative to the config file). */
  resolvePath: (path: string) => string;
  onCertificate: (certificate: IssuedAcmeCertificate) => void;
  logger: Logger;
}

export interface ConnectorAcme {
  readonly certificate: AcmeCertificate;
  /** True for DNS-01 (no validation arrives through the relay). */
  readonly dns01: boolean;
  /** Starts after `ready` resolves; retries until a certificate is served or {@link stop}. */
  start(ready: () => Promise<void>): void;
  stop(): void;
}

/** Builds the ACME side of the connector from `tls.acme` (reads `directoryCaFile`). */
export async function openConnectorAcme(
  config: AcmeConfig,
  options: ConnectorAcmeOptions,
): Promise<ConnectorAcme> {
  const log = options.logger.child({ part: 'acme' });
  const directoryCaPem = config.directoryCaFile
    ? await readFile(options.resolvePath(config.directoryCaFile), 'utf8')
    : undefined;
  const certificate = new AcmeCertificate({
    dataDir: options.dataDir,
    hostname: options.hostname,
    directoryUrl: config.directoryUrl,
    ...(config.contact ? { contact: config.contact } : {}),
    ...(directoryCaPem ? { directoryCaPem } : {}),
    ...(config.dns01Hook ? { dns01: new Dns01Hook(config.dns01Hook) } : {}),
    renewBeforeMs: config.renewBeforeDays * 86_400_000,
    checkIntervalMs: config.checkIntervalMs,
    logger: log,
    onCertificate: (issued) => {
      options.onCertificate(issued);
      log.info(
        { serial: new X509Certificate(issued.certPem).serialNumber, notAfter: issued.notAfter.toISOString() },
        'tenant certificate from ACME now served to agents',
      );
    },
  });
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const backoff = new Backoff({ initialMs: DEFAULT_ACME_FIRST_RETRY_MS, maxMs: DEFAULT_ACME_RETRY_MAX_MS });
  const attempt = async (ready: () => Promise<void>): Promise<void> => {
    if (stopped) return;
    try {
      await ready();
      if (!stopped) await certificate.start();
    } catch (err) {
      if (stopped) return;
      const delay = backoff.nextDelay();
      log.warn({ err: (err as Error).message, retryInMs: delay }, 'no ACME certificate yet; retrying');
      timer = setTimeout(() => void attempt(ready), delay);
    }
  };
  return {
    certificate,
    dns01: config.dns01Hook !== undefined,
    start: (ready) => void attempt(ready),
    stop: () => {
      stopped = true;
      clearTimeout(timer);
      certificate.stop();
    },
  };
}
