// Seals secrets kept in the database (channel credentials, tokens) with the master key: AES-256-GCM, a
// fresh IV per value, the key id in the output so old values open after a rotation, and optional context
// (e.g. the row id) bound as associated data so a sealed value cannot be moved to another row.
// Sealed text: `v1.<keyId>.<iv>.<ciphertext>.<tag>` (base64url). Plaintext never reaches logs or errors.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { KEY_BYTES } from './key-list.js';
import type { EncryptionKey } from './payload-codec.js';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SecretBoxError extends Error {
  override readonly name = 'SecretBoxError';
}

export interface SecretBox {
  seal(plaintext: string, context?: string): string;
  open(sealed: string, context?: string): string;
  /** True when a value was sealed with a key other than the current one (re-seal it to finish a rotation). */
  needsRotation(sealed: string): boolean;
  /** Keeps the key material out of JSON.stringify, util.inspect and pino. */
  toJSON(): string;
}

export function isSealed(value: string): boolean {
  return value.startsWith(`${VERSION}.`) && value.split('.').length === 5;
}

/** `keys[0]` seals; every key opens values that name its id. */
export function createSecretBox(keys: readonly EncryptionKey[]): SecretBox {
  if (keys.length === 0) throw new SecretBoxError('the secret box needs at least one key');
  for (const { id, key } of keys) {
    if (key.length !== KEY_BYTES) throw new SecretBoxError(`master key ${id} must be ${KEY_BYTES} bytes`);
    if (id.includes('.')) throw new SecretBoxError(`master key id ${id} must not contain dots`);
  }
  const current = keys[0]!;
  const byId = new Map(keys.map(({ id, key }) => [id, key]));
  const aad = (keyId: string, context: string | undefined) => Buffer.from(`${VERSION}|${keyId}|${context ?? ''}`);

  const box: SecretBox = {
    seal(plaintext, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', current.key, iv);
      cipher.setAAD(aad(current.id, context));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [VERSION, current.id, iv, ciphertext, cipher.getAuthTag()]
        .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
        .join('.');
    },
    open(sealed, context) {
      const parts = sealed.split('.');
      if (parts.length !== 5 || parts[0] !== VERSION) throw new SecretBoxError('not a sealed secret');
      const [, keyId, iv, ciphertext, tag] = parts as [string, string, string, string, string];
      const key = byId.get(keyId);
      if (!key) throw new SecretBoxError(`no master key with id ${JSON.stringify(keyId)}`);
      const ivBytes = Buffer.from(iv, 'base64url');
      const tagBytes = Buffer.from(tag, 'base64url');
      if (ivBytes.length !== IV_BYTES || tagBytes.length !== TAG_BYTES)
        throw new SecretBoxError('malformed sealed secret');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, ivBytes);
        decipher.setAAD(aad(keyId, context));
        decipher.setAuthTag(tagBytes);
        return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString(
          'utf8',
        );
      } catch {
        throw new SecretBoxError(`sealed secret failed authentication with key ${keyId} (altered, or wrong context)`);
      }
    },
    needsRotation(sealed) {
      return sealed.split('.')[1] !== current.id;
    },
    toJSON: () => `[SecretBox ${keys.map((k) => k.id).join(',')}]`,
  };
  Object.defineProperty(box, Symbol.for('nodejs.util.inspect.custom'), { value: () => box.toJSON() });
  return box;
}
