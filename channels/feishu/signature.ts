// Feishu's event callback signature, sent when an encrypt key is configured:
// X-Lark-Signature = hex(SHA-256(timestamp + nonce + encryptKey + rawBody)), timestamp in unix seconds.
import { createHash } from 'node:crypto';
import { UnauthorizedError } from '../../core/errors.js';
import { constantTimeEqual } from '../constant-time.js';

export const FEISHU_SIGNATURE_TOLERANCE_SECONDS = 300;

export interface FeishuSignatureHeaders {
  timestamp: string;
  nonce: string;
  signature: string;
}

export function computeFeishuSignature(timestamp: string, nonce: string, encryptKey: string, rawBody: string): string {
  return createHash('sha256')
    .update(timestamp + nonce + encryptKey + rawBody, 'utf8')
    .digest('hex');
}

/** Throws UnauthorizedError for a stale timestamp or a signature that does not match. */
export function verifyFeishuSignature(
  headers: FeishuSignatureHeaders,
  encryptKey: string,
  rawBody: string,
  now: Date,
): void {
  if (!/^\d{1,12}$/.test(headers.timestamp)) throw new UnauthorizedError('malformed Feishu request timestamp');
  if (Math.abs(now.getTime() / 1000 - Number(headers.timestamp)) > FEISHU_SIGNATURE_TOLERANCE_SECONDS) {
    throw new UnauthorizedError('Feishu request timestamp is outside the allowed window');
  }
  const expected = computeFeishuSignature(headers.timestamp, headers.nonce, encryptKey, rawBody);
  if (!constantTimeEqual(expected, headers.signature.toLowerCase())) {
    throw new UnauthorizedError('Feishu signature does not match');
  }
}
