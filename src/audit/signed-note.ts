/**
 * C2SP signed notes (c2sp.org/signed-note), checkpoints (c2sp.org/tlog-checkpoint) and Ed25519
 * cosignatures (c2sp.org/tlog-cosignature), with Node's Ed25519.
 *
 * A signed note is its text (newline-terminated lines), a blank line, and signature lines
 * `— <key name> base64(4-byte key id || signature)`. The Ed25519 key id is
 * `SHA-256(name || 0x0A || 0x01 || public key)[:4]`; a cosignature's uses type byte 0x04 and signs
 * `cosignature/v1\ntime <t>\n` + the checkpoint text, with the 8-byte big-endian time before the
 * signature. A checkpoint's text is `<origin>\n<tree size>\n<base64 root hash>\n[extension lines]`.
 *
 * @example
 * const text = formatCheckpointBody({ origin: 'airlock.audit/acme', size: 3, rootHash });
 * const note = formatSignedNote({ text, signatures: [signNote(text, signer)] });
 * verifyNote(parseSignedNote(note), { name: signer.name, publicKey }) // true
 */
import { createHash, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';

/** Signature type bytes of C2SP key ids. */
export const NOTE_SIG_TYPE_ED25519 = 0x01;
export const NOTE_SIG_TYPE_COSIGNATURE_V1 = 0x04;
/** The em dash that starts a signature line. */
const DASH = '\u2014';
/** Most signature lines parsed from one note. */
export const DEFAULT_NOTE_MAX_SIGNATURES = 100;

export interface NoteSignature {
  name: string;
  /** 4 bytes. */
  keyId: Buffer;
  /** The signature bytes after the key id (for a cosignature: 8-byte time + 64-byte signature). */
  signature: Buffer;
}

export interface SignedNote {
  /** The note text, ending with a newline. */
  text: string;
  signatures: NoteSignature[];
}

/** An Ed25519 signer or verifier identity: key name and key. */
export interface NoteKey {
  name: string;
  publicKey: KeyObject;
}

export interface NoteSigner extends NoteKey {
  privateKey: KeyObject;
}

/** Raw public keys by key object: exporting a key costs more than signing with it, and a signer signs often. */
const rawKeys = new WeakMap<KeyObject, Buffer>();

/** The raw 32-byte Ed25519 public key (a copy the caller may keep). */
export function ed25519Raw(publicKey: KeyObject): Buffer {
  let raw = rawKeys.get(publicKey);
  if (!raw) {
    const der = publicKey.export({ type: 'spki', format: 'der' });
    raw = Buffer.from(der.subarray(der.length - 32));
    rawKeys.set(publicKey, raw);
  }
  return Buffer.from(raw);
}

/** The raw key as a KeyObject. */
export function ed25519FromRaw(raw: Uint8Array): KeyObject {
  const prefix = Buffer.from('302a300506032b6570032100', 'hex');
  return createPublicKey({ key: Buffer.concat([prefix, raw]), format: 'der', type: 'spki' });
}

/** `SHA-256(name || 0x0A || type || raw public key)[:4]`. */
export function noteKeyId(name: string, publicKey: KeyObject, type = NOTE_SIG_TYPE_ED25519): Buffer {
  return createHash('sha256')
    .update(Buffer.from(`${name}\n`, 'utf8'))
    .update(Buffer.of(type))
    .update(ed25519Raw(publicKey))
    .digest()
    .subarray(0, 4);
}

/** A C2SP verifier key: `<name>+<hex key id>+<base64(type || raw key)>`. */
export function formatVkey(key: NoteKey, type = NOTE_SIG_TYPE_ED25519): string {
  const id = noteKeyId(key.name, key.publicKey, type).toString('hex');
  const material = Buffer.concat([Buffer.of(type), ed25519Raw(key.publicKey)]).toString('base64');
  return `${key.name}+${id}+${material}`;
}

/** Parses a verifier key; undefined when malformed or its id does not match. */
export function parseVkey(vkey: string): (NoteKey & { type: number }) | undefined {
  // The base64 key material may itself contain '+': split at the first two only.
  const m = /^([^+\s]+)\+([0-9a-fA-F]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(vkey.trim());
  if (!m) return undefined;
  const [, name, id, b64] = m as unknown as [string, string, string, string];
  const material = Buffer.from(b64, 'base64');
  if (!validKeyName(name) || material.length !== 33) return undefined;
  const type = material[0] as number;
  if (type !== NOTE_SIG_TYPE_ED25519 && type !== NOTE_SIG_TYPE_COSIGNATURE_V1) return undefined;
  try {
    const publicKey = ed25519FromRaw(material.subarray(1));
    if (noteKeyId(name, publicKey, type).toString('hex') !== id.toLowerCase()) return undefined;
    return { name, publicKey, type };
  } catch {
    return undefined;
  }
}

function validKeyName(name: string): boolean {
  return name.length > 0 && name.length <= 255 && !/[\s+]/u.test(name);
}

/** Parses a signed note; undefined when it is not one (no blank line, bad signature lines). */
export function parseSignedNote(input: string, max = DEFAULT_NOTE_MAX_SIGNATURES): SignedNote | undefined {
  const at = input.lastIndexOf('\n\n');
  if (at < 0) return undefined;
  const text = input.slice(0, at + 1);
  const rest = input.slice(at + 2);
  if (!rest.endsWith('\n')) return undefined;
  const signatures: NoteSignature[] = [];
  for (const line of rest.slice(0, -1).split('\n')) {
    const sig = parseSignatureLine(line);
    if (!sig) return undefined;
    signatures.push(sig);
    if (signatures.length > max) return undefined;
  }
  return signatures.length > 0 ? { text, signatures } : undefined;
}

/** Parses one `— name base64` line (no newline). */
export function parseSignatureLine(line: string): NoteSignature | undefined {
  const m = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/u.exec(line);
  if (!m || !validKeyName(m[1] as string)) return undefined;
  const bytes = Buffer.from(m[2] as string, 'base64');
  if (bytes.length < 5) return undefined;
  return { name: m[1] as string, keyId: bytes.subarray(0, 4), signature: bytes.subarray(4) };
}

/** One signature line, with its newline. */
export function formatSignatureLine(sig: NoteSignature): string {
  return `${DASH} ${sig.name} ${Buffer.concat([sig.keyId, sig.signature]).toString('base64')}\n`;
}

/** The note text, a blank line, and the signature lines. */
export function formatSignedNote(note: SignedNote): string {
  return `${note.text}\n${note.signatures.map(formatSignatureLine).join('')}`;
}

/** Ed25519 signature of a note text (type 0x01). */
export function signNote(text: string, signer: NoteSigner): NoteSignature {
  return {
    name: signer.name,
    keyId: noteKeyId(signer.name, signer.publicKey),
    signature: sign(null, Buffer.from(text, 'utf8'), signer.privateKey),
  };
}

/** True when one of the note's signatures is by `key` (name and key id match, signature valid). */
export function verifyNote(note: SignedNote, key: NoteKey): boolean {
  const id = noteKeyId(key.name, key.publicKey);
  return note.signatures.some(
    (s) =>
      s.name === key.name &&
      s.keyId.equals(id) &&
      s.signature.length === 64 &&
      safeVerify(Buffer.from(note.text, 'utf8'), key.publicKey, s.signature),
  );
}

function cosignedMessage(text: string, time: bigint): Buffer {
  return Buffer.from(`cosignature/v1\ntime ${time}\n${text}`, 'utf8');
}

/**
 * A tlog-cosignature/v1 over a checkpoint text at `timeSeconds`.
 *
 * @example
 * const line = formatSignatureLine(cosign(checkpointText, witnessSigner, Math.floor(Date.now() / 1000)));
 */
export function cosign(text: string, signer: NoteSigner, timeSeconds: number): NoteSignature {
  const time = BigInt(Math.max(0, Math.floor(timeSeconds)));
  const stamp = Buffer.alloc(8);
  stamp.writeBigUInt64BE(time);
  return {
    name: signer.name,
    keyId: noteKeyId(signer.name, signer.publicKey, NOTE_SIG_TYPE_COSIGNATURE_V1),
    signature: Buffer.concat([stamp, sign(null, cosignedMessage(text, time), signer.privateKey)]),
  };
}

/** The time (POSIX seconds) of a valid cosignature by `key` on the note, or undefined. */
export function verifyCosignature(note: SignedNote, key: NoteKey): number | undefined {
  const id = noteKeyId(key.name, key.publicKey, NOTE_SIG_TYPE_COSIGNATURE_V1);
  for (const s of note.signatures) {
    if (s.name !== key.name || !s.keyId.equals(id) || s.signature.length !== 72) continue;
    const time = s.signature.readBigUInt64BE(0);
    if (safeVerify(cosignedMessage(note.text, time), key.publicKey, s.signature.subarray(8))) {
      return Number(time);
    }
  }
  return undefined;
}

function safeVerify(data: Buffer, key: KeyObject, signature: Buffer): boolean {
  try {
    return verify(null, data, key, signature);
  } catch {
    return false;
  }
}

export interface CheckpointBody {
  origin: string;
  size: number;
  rootHash: Buffer;
  extensions?: string[];
}

/** The checkpoint text (newline-terminated lines). */
export function formatCheckpointBody(b: CheckpointBody): string {
  const ext = (b.extensions ?? []).map((l) => `${l}\n`).join('');
  return `${b.origin}\n${b.size}\n${b.rootHash.toString('base64')}\n${ext}`;
}

/** Parses a checkpoint text; undefined when malformed. */
export function parseCheckpointBody(text: string): CheckpointBody | undefined {
  if (!text.endsWith('\n')) return undefined;
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) return undefined;
  const [origin, size, root] = lines as [string, string, string];
  if (origin.length === 0 || !/^(0|[1-9][0-9]{0,15})$/.test(size)) return undefined;
  const rootHash = Buffer.from(root, 'base64');
  if (rootHash.length !== 32 || rootHash.toString('base64') !== root) return undefined;
  const extensions = lines.slice(3);
  if (extensions.some((l) => l.length === 0)) return undefined;
  return { origin, size: Number(size), rootHash, extensions };
}
