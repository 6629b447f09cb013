/**
 * X.509 primitives for Airlock: a tenant certificate authority, TLS server certificates, agent client
 * certificates with SPIFFE-style URI SANs, and CSRs. Built on `@peculiar/x509` over Node's WebCrypto;
 * every key is ECDSA P-256 and every signature ECDSA with SHA-256 (the most broadly supported TLS choice).
 *
 * Keys and certificates travel as PEM strings: PKCS#8 for private keys, SPKI for public keys.
 *
 * @example
 * const ca = await createCertificateAuthority({ commonName: 'acme Airlock CA' });
 * const server = await issueServerCertificate(ca, { commonName: 'acme.relay.example', dnsNames: ['acme.relay.example'] });
 * const agent = await issueClientCertificate(ca, { commonName: 'claims-bot', uris: ['spiffe://acme.relay.example/agent/claims-bot'] });
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPair as nodeGenerateKeyPair,
  randomBytes,
  webcrypto,
} from 'node:crypto';
import { promisify } from 'node:util';
// @peculiar/x509 uses tsyringe, which needs a Reflect metadata polyfill loaded before it.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { PkiError } from '../errors/airlock-error.js';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto);

/** Default validity of a certificate authority: 10 years. */
export const DEFAULT_CA_VALID_DAYS = 3650;
/** Default validity of a TLS server certificate: 1 year. */
export const DEFAULT_SERVER_VALID_DAYS = 365;
/** Default validity of a client (agent / connector) certificate: 90 days. */
export const DEFAULT_CLIENT_VALID_DAYS = 90;
/** `notBefore` is back-dated by this much so that peers with a slightly slow clock accept a fresh certificate. */
export const DEFAULT_CLOCK_SKEW_MS = 5 * 60 * 1000;

/** A key pair as PEM: PKCS#8 private key and SPKI public key. */
export interface KeyPairPem {
  privateKeyPem: string;
  publicKeyPem: string;
}

/** A private key (PKCS#8 PEM) with its certificate (PEM). */
export interface CertifiedKey {
  keyPem: string;
  certPem: string;
}

/** A freshly issued certificate with the facts callers usually store. */
export interface IssuedCertificate {
  certPem: string;
  /** Lowercase hex serial number. */
  serial: string;
  /** Lowercase hex SHA-256 of the certificate DER. */
  fingerprint: string;
  notAfter: Date;
}

/** What `certificateInfo` reads out of a certificate. */
export interface CertificateInfo {
  serial: string;
  fingerprint: string;
  commonName: string;
  uris: string[];
  dnsNames: string[];
  notBefore: Date;
  notAfter: Date;
  issuer: string;
}

const EC_IMPORT: webcrypto.EcKeyImportParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const DAY_MS = 24 * 60 * 60 * 1000;
const generateKeyPairAsync = promisify(nodeGenerateKeyPair);

/**
 * Generates an ECDSA P-256 key pair.
 *
 * @example
 * const { privateKeyPem, publicKeyPem } = await generateKeyPair();
 */
export async function generateKeyPair(): Promise<KeyPairPem> {
  const { privateKey, publicKey } = await generateKeyPairAsync('ec', {
    namedCurve: 'prime256v1',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

/**
 * Creates a self-signed certificate authority (basicConstraints CA critical, keyCertSign + cRLSign).
 *
 * @example
 * const ca = await createCertificateAuthority({ commonName: 'acme Airlock CA', validDays: 3650 });
 */
export async function createCertificateAuthority(opts: {
  commonName: string;
  validDays?: number;
}): Promise<CertifiedKey> {
  const keys = await generateKeyPair();
  const keyPair = await importKeyPair(keys);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: newSerial(),
    name: subjectName(opts.commonName),
    ...validity(opts.validDays ?? DEFAULT_CA_VALID_DAYS),
    keys: keyPair,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keyPair.publicKey),
    ],
  });
  return { keyPem: keys.privateKeyPem, certPem: cert.toString('pem') };
}

/**
 * Issues a TLS server certificate (SAN dnsNames / ipAddresses, EKU serverAuth) with a new key.
 *
 * @example
 * const server = await issueServerCertificate(ca, { commonName: 'acme.relay.example', dnsNames: ['acme.relay.example'] });
 * tls.createServer({ key: server.keyPem, cert: server.certPem });
 */
export async function issueServerCertificate(
  ca: CertifiedKey,
  opts: { commonName: string; dnsNames: string[]; ipAddresses?: string[]; validDays?: number },
): Promise<CertifiedKey> {
  const keys = await generateKeyPair();
  const names: x509.JsonGeneralName[] = [
    ...opts.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...(opts.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const cert = await signLeaf(ca, await importKey(keys.publicKeyPem, 'public'), {
    commonName: opts.commonName,
    names,
    usage: x509.ExtendedKeyUsage.serverAuth,
    validDays: opts.validDays ?? DEFAULT_SERVER_VALID_DAYS,
  });
  return { keyPem: keys.privateKeyPem, certPem: cert.certPem };
}

/**
 * Issues a client certificate (SAN URIs, EKU clientAuth) with a new key generated here.
 * Prefer `issueFromCsr` when the key can be generated where it will be used.
 *
 * @example
 * const agent = await issueClientCertificate(ca, { commonName: 'claims-bot', uris: ['spiffe://acme/agent/claims-bot'] });
 */
export async function issueClientCertificate(
  ca: CertifiedKey,
  opts: { commonName: string; uris: string[]; validDays?: number },
): Promise<IssuedCertificate & { keyPem: string }> {
  const keys = await generateKeyPair();
  const issued = await signLeaf(ca, await importKey(keys.publicKeyPem, 'public'), {
    commonName: opts.commonName,
    names: opts.uris.map((value) => ({ type: 'url' as const, value })),
    usage: x509.ExtendedKeyUsage.clientAuth,
    validDays: opts.validDays ?? DEFAULT_CLIENT_VALID_DAYS,
  });
  return { ...issued, keyPem: keys.privateKeyPem };
}

/**
 * Creates a PKCS#10 certificate signing request (PEM) for `key`, signed by it (proof of possession).
 *
 * @example
 * const key = await generateKeyPair();
 * const csrPem = await createCsr(key, 'connector-1');
 */
export async function createCsr(key: KeyPairPem, commonName: string): Promise<string> {
  const keys = await importKeyPair(key);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: subjectName(commonName),
    keys,
    signingAlgorithm: SIGNING,
  });
  return csr.toString('pem');
}

/**
 * Verifies the CSR's self-signature (proof of possession) and issues a client cert for ITS public key.
 * The subject and SANs come from `opts`, never from the CSR. Throws `PkiError` with
 * `AIRLOCK_PKI_BAD_PEM` (not a CSR), `AIRLOCK_PKI_CSR_KEY` (not an ECDSA P-256 key) or
 * `AIRLOCK_PKI_CSR_SIGNATURE` (signature does not verify).
 *
 * @example
 * const issued = await issueFromCsr(ca, csrPem, { commonName: 'connector-1', uris: ['spiffe://acme/connector/1'] });
 */
export async function issueFromCsr(
  ca: CertifiedKey,
  csrPem: string,
  opts: { commonName: string; uris: string[]; validDays?: number },
): Promise<IssuedCertificate & { publicKeyFingerprint: string }> {
  const csr = parsePem(csrPem, 'CERTIFICATE REQUEST', (pem) => new x509.Pkcs10CertificateRequest(pem));
  const alg = csr.publicKey.algorithm as webcrypto.EcKeyAlgorithm;
  if (alg.name !== 'ECDSA' || alg.namedCurve !== 'P-256') {
    throw new PkiError(
      'AIRLOCK_PKI_CSR_KEY',
      `CSR key must be ECDSA P-256, got ${alg.name} ${alg.namedCurve ?? ''}`.trim(),
    );
  }
  let valid = false;
  try {
    valid = await csr.verify();
  } catch (cause) {
    throw new PkiError('AIRLOCK_PKI_CSR_SIGNATURE', 'CSR signature could not be verified', { cause });
  }
  if (!valid)
    throw new PkiError(
      'AIRLOCK_PKI_CSR_SIGNATURE',
      'CSR signature does not verify: proof of key possession failed',
    );
  const issued = await signLeaf(ca, csr.publicKey, {
    commonName: opts.commonName,
    names: opts.uris.map((value) => ({ type: 'url' as const, value })),
    usage: x509.ExtendedKeyUsage.clientAuth,
    validDays: opts.validDays ?? DEFAULT_CLIENT_VALID_DAYS,
  });
  return { ...issued, publicKeyFingerprint: sha256Hex(csr.publicKey.rawData) };
}

/**
 * Reads the facts Airlock cares about out of a PEM certificate. Throws `PkiError` `AIRLOCK_PKI_BAD_PEM`.
 *
 * @example
 * const { uris, serial } = certificateInfo(certPem); // uris: ['spiffe://acme/agent/claims-bot']
 */
export function certificateInfo(certPem: string): CertificateInfo {
  const cert = parseCertificate(certPem);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const items = san?.names.items ?? [];
  return {
    serial: cert.serialNumber.toLowerCase(),
    fingerprint: sha256Hex(cert.rawData),
    commonName: cert.subjectName.getField('CN')[0] ?? '',
    uris: items.filter((n) => n.type === 'url').map((n) => n.value),
    dnsNames: items.filter((n) => n.type === 'dns').map((n) => n.value),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    issuer: cert.issuer,
  };
}

/**
 * Lowercase hex SHA-256 of a public key's SPKI DER, from an SPKI PEM, a PKCS#8 PEM or a certificate PEM.
 *
 * @example
 * publicKeyFingerprint(keys.publicKeyPem) === publicKeyFingerprint(certPem) // same key
 */
export function publicKeyFingerprint(pem: string): string {
  try {
    const der = pem.includes('CERTIFICATE')
      ? Buffer.from(parseCertificate(pem).publicKey.rawData)
      : createPublicKey(pem).export({ type: 'spki', format: 'der' });
    return sha256Hex(der);
  } catch (cause) {
    if (cause instanceof PkiError) throw cause;
    throw new PkiError('AIRLOCK_PKI_BAD_PEM', 'not a PEM key or certificate', { cause });
  }
}

// ---------------------------------------------------------------------------------------------

async function signLeaf(
  ca: CertifiedKey,
  publicKey: x509.PublicKey | CryptoKey,
  leaf: {
    commonName: string;
    names: x509.JsonGeneralName[];
    usage: x509.ExtendedKeyUsage;
    validDays: number;
  },
): Promise<IssuedCertificate> {
  const caCert = parseCertificate(ca.certPem);
  const caKey = await importKey(ca.keyPem, 'private');
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: newSerial(),
    subject: subjectName(leaf.commonName),
    issuer: caCert.subjectName,
    ...validity(leaf.validDays),
    publicKey,
    signingKey: caKey,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([leaf.usage], false),
      new x509.SubjectAlternativeNameExtension(leaf.names, false),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  return {
    certPem: cert.toString('pem'),
    serial: cert.serialNumber.toLowerCase(),
    fingerprint: sha256Hex(cert.rawData),
    notAfter: cert.notAfter,
  };
}

function parseCertificate(pem: string): x509.X509Certificate {
  return parsePem(pem, 'CERTIFICATE', (text) => new x509.X509Certificate(text));
}

function parsePem<T>(pem: string, label: string, parse: (pem: string) => T): T {
  if (typeof pem !== 'string' || !pem.includes(`-----BEGIN ${label}-----`)) {
    throw new PkiError('AIRLOCK_PKI_BAD_PEM', `expected a PEM "${label}"`);
  }
  try {
    return parse(pem);
  } catch (cause) {
    throw new PkiError('AIRLOCK_PKI_BAD_PEM', `malformed PEM "${label}"`, { cause });
  }
}

/** The two halves of an ECDSA P-256 key pair, as Node exports them and WebCrypto imports them. */
const KEY_KINDS = {
  private: {
    format: 'pkcs8',
    toDer: (pem: string) => createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' }),
    usage: 'sign',
  },
  public: {
    format: 'spki',
    toDer: (pem: string) => createPublicKey(pem).export({ type: 'spki', format: 'der' }),
    usage: 'verify',
  },
} as const;

/** Imports one half of a P-256 key pair; `AIRLOCK_PKI_BAD_PEM` or `AIRLOCK_PKI_KEY_TYPE` when it is not one. */
async function importKey(pem: string, kind: keyof typeof KEY_KINDS): Promise<CryptoKey> {
  const k = KEY_KINDS[kind];
  let der: Buffer;
  try {
    der = k.toDer(pem);
  } catch (cause) {
    throw new PkiError('AIRLOCK_PKI_BAD_PEM', `malformed ${kind} key PEM`, { cause });
  }
  try {
    return await webcrypto.subtle.importKey(k.format, der, EC_IMPORT, true, [k.usage]);
  } catch (cause) {
    throw new PkiError('AIRLOCK_PKI_KEY_TYPE', `${kind} key must be ECDSA P-256`, { cause });
  }
}

async function importKeyPair(keys: KeyPairPem): Promise<CryptoKeyPair> {
  return {
    privateKey: await importKey(keys.privateKeyPem, 'private'),
    publicKey: await importKey(keys.publicKeyPem, 'public'),
  };
}

function subjectName(commonName: string): x509.JsonName {
  if (!commonName) throw new PkiError('AIRLOCK_PKI_NAME', 'commonName must not be empty');
  return [{ CN: [commonName] }];
}

function validity(validDays: number): { notBefore: Date; notAfter: Date } {
  if (!Number.isFinite(validDays) || validDays <= 0) {
    throw new PkiError('AIRLOCK_PKI_VALIDITY', `validDays must be a positive number, got ${validDays}`);
  }
  const now = Date.now();
  return { notBefore: new Date(now - DEFAULT_CLOCK_SKEW_MS), notAfter: new Date(now + validDays * DAY_MS) };
}

/** 16 random bytes, top bit clear (positive) and first byte non-zero (exactly 16 bytes in DER). */
function newSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString('hex');
}

function sha256Hex(data: ArrayBuffer | Uint8Array): string {
  return createHash('sha256')
    .update(data instanceof Uint8Array ? data : new Uint8Array(data))
    .digest('hex');
}
