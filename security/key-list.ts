// The one text form of Conduit's symmetric keys: `id:base64-of-32-bytes`, several separated by commas or
// lines (the first is the current key, the rest still decrypt). Pure: config validation and key files share it.
import { randomBytes } from 'node:crypto';
import type { EncryptionKey } from './payload-codec.js';

export const KEY_BYTES = 32;
const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Parses `id:base64` entries (commas or newlines; blank lines and `#` comments skipped). Throws naming the bad entry by position, never its value. */
export function parseKeyList(text: string): EncryptionKey[] {
  const entries = text
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .flatMap((line) => line.split(','))
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new Error('expected at least one id:base64 key');
  const keys = entries.map((entry, index) => {
    const separator = entry.indexOf(':');
    const id = entry.slice(0, separator);
    const encoded = entry.slice(separator + 1);
    const position = `key ${index + 1}`;
    if (separator < 1 || !ID_PATTERN.test(id)) {
      throw new Error(`${position}: expected id:base64 with an id of letters, digits, dashes, underscores`);
    }
    if (!BASE64_PATTERN.test(encoded) || Buffer.from(encoded, 'base64').length !== KEY_BYTES) {
      throw new Error(`${position} (${id}): expected ${KEY_BYTES} bytes in standard base64 (openssl rand -base64 32)`);
    }
    return { id, key: Buffer.from(encoded, 'base64') };
  });
  if (new Set(keys.map((k) => k.id)).size !== keys.length) throw new Error('key ids must be unique');
  return keys;
}

export const formatKey = ({ id, key }: EncryptionKey) => `${id}:${key.toString('base64')}`;

/** A fresh random key whose id says what it is for and when it was made (`payload-20250101-1a2b3c`). */
export function generateKey(purpose: string, now = new Date()): EncryptionKey {
  const day = now.toISOString().slice(0, 10).replaceAll('-', '');
  return { id: `${purpose}-${day}-${randomBytes(3).toString('hex')}`, key: randomBytes(KEY_BYTES) };
}
