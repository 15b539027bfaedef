// Feishu's event callback signature, sent when an encrypt key is configured:
// X-Lark-Signature = hex(SHA-256(timestamp + nonce + encryptKey + rawBody)), timestamp in unix seconds.
import { createHash } from 'node:crypto';
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

/**
 * Undefined when the signature is fresh and matches; otherwise why not, as a snake_case reason for the operator's
 * metrics and log (the caller answers every failure the same way).
 */
export function checkFeishuSignature(
  headers: FeishuSignatureHeaders,
  encryptKey: string,
  rawBody: string,
  now: Date,
): 'malformed_timestamp' | 'stale_timestamp' | 'signature_mismatch' | undefined {
  if (!/^\d{1,12}$/.test(headers.timestamp)) return 'malformed_timestamp';
  if (Math.abs(now.getTime() / 1000 - Number(headers.timestamp)) > FEISHU_SIGNATURE_TOLERANCE_SECONDS) {
    return 'stale_timestamp';
  }
  const expected = computeFeishuSignature(headers.timestamp, headers.nonce, encryptKey, rawBody);
  return constantTimeEqual(expected, headers.signature.toLowerCase()) ? undefined : 'signature_mismatch';
}
