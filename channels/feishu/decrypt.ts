// Decrypts Feishu's `{"encrypt": "<base64>"}` event bodies: AES-256-CBC with key SHA-256(encryptKey), the IV in
// the first 16 bytes, PKCS#7 padding. Only a holder of the encrypt key can produce a body that decrypts.
// Failure is a plain `undefined`, never an error of its own: callers decide what a refusal looks like, and an
// unauthenticated caller must not tell bad padding from good (see envelope.ts).
import { createDecipheriv, createHash } from 'node:crypto';

export function decryptFeishuPayload(encrypted: string, encryptKey: string): string | undefined {
  const data = Buffer.from(encrypted, 'base64');
  if (data.length < 32 || data.length % 16 !== 0) return undefined;
  const key = createHash('sha256').update(encryptKey, 'utf8').digest();
  try {
    const decipher = createDecipheriv('aes-256-cbc', key, data.subarray(0, 16));
    return Buffer.concat([decipher.update(data.subarray(16)), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}
