/**
 * Keeps the tenant's publicly trusted certificate: loads it from `<dataDir>/acme/`, orders a new one
 * when there is none or when it enters the renewal window, and hands every new pair to `onCertificate`
 * (the agent endpoint swaps its TLS context: open connections keep the old one, new ones get the new
 * one, nothing is dropped). Failed orders are retried with backoff; the old certificate keeps serving.
 *
 * Files (0600 for keys): `account.key` and `account.url` (the ACME account), `tenant.key` (certificate
 * key, made here and reused across renewals), `tenant.pem` (leaf + chain).
 *
 * @example
 * const acme = new AcmeCertificate({ dataDir, hostname: 'acme.relay.example',
 *   directoryUrl: 'https://acme-v02.api.letsencrypt.org/directory', onCertificate: (c) => endpoint.setCertificate(c) });
 * await acme.start();   // after the tunnels are up: the CA reaches us through the relay
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import acme from 'acme-client';
import { type Logger, pino } from 'pino';
import { Backoff } from '../../supervision/backoff.js';
import { type Clock, systemClock } from '../../supervision/clock.js';
import { createAcmeAccountKey, type IssuedAcmeCertificate, issueAcmeCertificate } from './acme-issuer.js';
import { AlpnChallenges } from './alpn-challenges.js';
import type { Dns01Hook } from './dns01-hook.js';

/** Renew when the certificate has less than this left (Let's Encrypt's advice is a third of 90 days). */
export const DEFAULT_ACME_RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;
/** How often the renewal window is checked. */
export const DEFAULT_ACME_CHECK_INTERVAL_MS = 3600 * 1000;
/** Failed orders are retried with backoff up to this delay. */
export const DEFAULT_ACME_RETRY_MAX_MS = 15 * 60 * 1000;

export interface AcmeCertificateOptions {
  dataDir: string;
  hostname: string;
  directoryUrl: string;
  contact?: string;
  directoryCaPem?: string;
  renewBeforeMs?: number;
  checkIntervalMs?: number;
  retryMaxMs?: number;
  /** Answer DNS-01 with this hook instead of TLS-ALPN-01 through the relay. */
  dns01?: Dns01Hook;
  onCertificate: (certificate: IssuedAcmeCertificate) => void;
  clock?: Clock;
  logger?: Logger;
}

export class AcmeCertificate {
  readonly challenges = new AlpnChallenges();
  private current: IssuedAcmeCertificate | undefined;
  private accountUrl: string | undefined;
  private timer: unknown;
  private ordering: Promise<IssuedAcmeCertificate> | undefined;
  private readonly backoff: Backoff;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private nextAttemptAt = 0;
  private stopped = false;

  constructor(private readonly options: AcmeCertificateOptions) {
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? pino({ level: 'silent' });
    this.backoff = new Backoff({
      initialMs: 5000,
      maxMs: options.retryMaxMs ?? DEFAULT_ACME_RETRY_MAX_MS,
      clock: this.clock,
    });
  }

  get certificate(): IssuedAcmeCertificate | undefined {
    return this.current;
  }

  /** Loads the stored certificate (serving it at once), orders one if due, and starts the checks. */
  async start(): Promise<void> {
    this.current = await this.load();
    if (this.current) this.options.onCertificate(this.current);
    if (this.due()) await this.renew();
    this.schedule();
  }

  /** Orders a new certificate now (also what the renewal check calls). Concurrent calls share one order. */
  renew(): Promise<IssuedAcmeCertificate> {
    this.ordering ??= this.order().finally(() => {
      this.ordering = undefined;
    });
    return this.ordering;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
  }

  private due(): boolean {
    if (!this.current) return true;
    const renewBefore = this.options.renewBeforeMs ?? DEFAULT_ACME_RENEW_BEFORE_MS;
    return this.current.notAfter.getTime() - this.clock.now() <= renewBefore;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => {
      void this.check().finally(() => this.schedule());
    }, this.options.checkIntervalMs ?? DEFAULT_ACME_CHECK_INTERVAL_MS);
  }

  private async check(): Promise<void> {
    if (!this.due() || this.clock.now() < this.nextAttemptAt) return;
    try {
      await this.renew();
    } catch (err) {
      const delay = this.backoff.nextDelay();
      this.nextAttemptAt = this.clock.now() + delay;
      this.logger.warn(
        { err: (err as Error).message, retryInMs: delay },
        'ACME renewal failed; the current certificate keeps serving',
      );
    }
  }

  private async order(): Promise<IssuedAcmeCertificate> {
    const dir = join(this.options.dataDir, 'acme');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const accountKeyPem = await readOrCreate(join(dir, 'account.key'), createAcmeAccountKey);
    this.accountUrl ??= await readFile(join(dir, 'account.url'), 'utf8').catch(() => undefined);
    const issued = await issueAcmeCertificate({
      directoryUrl: this.options.directoryUrl,
      hostname: this.options.hostname,
      accountKeyPem,
      challenges: this.challenges,
      ...(this.current ? { certificateKeyPem: this.current.keyPem } : {}),
      ...(this.accountUrl ? { accountUrl: this.accountUrl } : {}),
      ...(this.options.contact ? { contact: this.options.contact } : {}),
      ...(this.options.directoryCaPem ? { directoryCaPem: this.options.directoryCaPem } : {}),
      ...(this.options.dns01 ? { dns01: this.options.dns01 } : {}),
      logger: this.logger,
    });
    await writeFile(join(dir, 'tenant.key'), issued.keyPem, { mode: 0o600 });
    await writeFile(join(dir, 'tenant.pem'), issued.certPem);
    await writeFile(join(dir, 'account.url'), issued.accountUrl);
    this.current = issued;
    this.accountUrl = issued.accountUrl;
    this.backoff.connected();
    this.nextAttemptAt = 0;
    this.options.onCertificate(issued); // the caller logs the installation (one line per certificate)
    return issued;
  }

  private async load(): Promise<IssuedAcmeCertificate | undefined> {
    const dir = join(this.options.dataDir, 'acme');
    try {
      const [certPem, keyPem] = await Promise.all([
        readFile(join(dir, 'tenant.pem'), 'utf8'),
        readFile(join(dir, 'tenant.key'), 'utf8'),
      ]);
      const notAfter = acme.crypto.readCertificateInfo(certPem).notAfter;
      return { certPem, keyPem, notAfter, accountUrl: this.accountUrl ?? '' };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
}

async function readOrCreate(file: string, create: () => Promise<string>): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const value = await create();
    await writeFile(file, value, { mode: 0o600 });
    return value;
  }
}
