// Decrypts Feishu's `{"encrypt": "<base64>"}` event bodies: AES-256-CBC with key SHA-256(encryptKey), the IV in
// the first 16 bytes, PKCS#7 padding. Only a holder of the encrypt key can produce a body that decrypts.
import { createDecipheriv, createHash } from 'node:crypto';
import { UnauthorizedError } from '../../core/errors.js';

export function decryptFeishuPayload(encrypted: string, encryptKey: string): string {
  const data = Buffer.from(encrypted, 'base64');
  if (data.length < 32 || data.length % 16 !== 0) {
    throw new UnauthorizedError('Feishu encrypted body has an invalid length');
  }
  const key = createHash('sha256').update(encryptKey, 'utf8').digest();
  try {
    const decipher = createDecipheriv('aes-256-cbc', key, data.subarray(0, 16));
    return Buffer.concat([decipher.update(data.subarray(16)), decipher.final()]).toString('utf8');
  } catch {
    throw new UnauthorizedError('Feishu encrypted body does not decrypt with the configured encrypt key');
  }
}
