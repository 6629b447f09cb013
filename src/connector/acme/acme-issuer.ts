/**
 * Obtains a publicly trusted certificate for the tenant host name from an ACME CA (RFC 8555) with
 * the TLS-ALPN-01 challenge (RFC 8737), using the `acme-client` library. The certificate's private
 * key is generated here, on the connector, and never leaves it; so is the ACME account key.
 *
 * @example
 * const issued = await issueAcmeCertificate({
 *   directoryUrl: 'https://acme-v02.api.letsencrypt.org/directory',
 *   hostname: 'acme.relay.example', contact: 'ops@acme.example', accountKeyPem, challenges,
 * });
 */
import https from 'node:https';
import acme from 'acme-client';
import { type Logger, pino } from 'pino';
import { AirlockError } from '../../errors/airlock-error.js';
import type { AlpnChallenges } from './alpn-challenges.js';
import type { Dns01Hook } from './dns01-hook.js';

export interface AcmeIssueOptions {
  directoryUrl: string;
  hostname: string;
  /** E-mail for the ACME account (optional). */
  contact?: string;
  /** PEM of the ACME account key (made once with {@link createAcmeAccountKey}, kept on disk). */
  accountKeyPem: string;
  challenges: AlpnChallenges;
  /** Answer DNS-01 with this hook instead of TLS-ALPN-01 (relay domains the CA cannot reach). */
  dns01?: Dns01Hook;
  /** Extra trust for the directory's own HTTPS (a private or test CA such as Pebble's). */
  directoryCaPem?: string;
  /** The account's URL from an earlier order (renewals reuse the account instead of re-creating it). */
  accountUrl?: string;
  /** PEM of the certificate key to reuse; a new P-256 key is made when absent. */
  certificateKeyPem?: string;
  logger?: Logger;
}

export interface IssuedAcmeCertificate {
  /** Leaf first, then the chain, as the CA sent it. */
  certPem: string;
  keyPem: string;
  notAfter: Date;
  /** The ACME account URL (store it for the next order). */
  accountUrl: string;
}

/** The ACME CA refused or could not be reached; retryable, except for a refused identifier. */
export class AcmeError extends AirlockError {}

/** Makes a new ACME account key (P-256), to be stored 0600 next to the tenant key. */
export async function createAcmeAccountKey(): Promise<string> {
  return (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
}

/** Runs one order to the end: account, order, TLS-ALPN-01 for `hostname`, finalize, download. */
export async function issueAcmeCertificate(options: AcmeIssueOptions): Promise<IssuedAcmeCertificate> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const client = new acme.Client({
    directoryUrl: options.directoryUrl,
    accountKey: options.accountKeyPem,
    ...(options.accountUrl ? { accountUrl: options.accountUrl } : {}),
  });
  const key = options.certificateKeyPem ?? (await acme.crypto.createPrivateEcdsaKey('P-256')).toString();
  const [, csr] = await acme.crypto.createCsr(
    { commonName: options.hostname, altNames: [options.hostname] },
    key,
  );
  const restoreAgent = trustDirectory(options.directoryCaPem);
  try {
    const certPem = await client.auto({
      csr,
      ...(options.contact ? { email: options.contact } : {}),
      termsOfServiceAgreed: true,
      challengePriority: [options.dns01 ? 'dns-01' : 'tls-alpn-01'],
      // The connector cannot always reach its own public name; the CA's validation is what counts.
      skipChallengeVerification: true,
      challengeCreateFn: async (authz, challenge, keyAuthorization) => {
        if (challenge.type === 'dns-01' && options.dns01) {
          await options.dns01.run('create', `_acme-challenge.${authz.identifier.value}`, keyAuthorization);
          logger.info({ hostname: authz.identifier.value }, 'ACME challenge ready (dns-01)');
          return;
        }
        const [challengeKey, challengeCert] = await acme.crypto.createAlpnCertificate(
          authz,
          keyAuthorization,
        );
        options.challenges.set(authz.identifier.value, {
          keyPem: challengeKey.toString(),
          certPem: challengeCert.toString(),
        });
        logger.info({ hostname: authz.identifier.value }, 'ACME challenge ready (tls-alpn-01)');
      },
      challengeRemoveFn: async (authz, challenge, keyAuthorization) => {
        if (challenge.type === 'dns-01' && options.dns01) {
          await options.dns01.run('remove', `_acme-challenge.${authz.identifier.value}`, keyAuthorization);
          return;
        }
        options.challenges.delete(authz.identifier.value);
      },
    });
    const info = acme.crypto.readCertificateInfo(certPem);
    return { certPem, keyPem: key, notAfter: info.notAfter, accountUrl: client.getAccountUrl() };
  } catch (err) {
    throw new AcmeError(
      'AIRLOCK_ACME_ORDER_FAILED',
      `ACME order for ${options.hostname} at ${options.directoryUrl} failed: ${(err as Error).message}`,
      { cause: err, retryable: true },
    );
  } finally {
    restoreAgent();
  }
}

/** acme-client talks HTTPS through its axios instance; trust an extra CA for the order's duration. */
function trustDirectory(caPem: string | undefined): () => void {
  if (!caPem) return () => undefined;
  const previous = acme.axios.defaults.httpsAgent;
  acme.axios.defaults.httpsAgent = new https.Agent({ ca: caPem });
  return () => {
    acme.axios.defaults.httpsAgent = previous;
  };
}
