// DingTalk's robot callback signature: headers `timestamp` (ms) and
// `sign` = base64(HMAC-SHA256(appSecret, timestamp + "\n" + appSecret)), valid within one hour of our clock.
import { createHmac } from 'node:crypto';
import { UnauthorizedError } from '../../core/errors.js';
import { constantTimeEqual } from '../constant-time.js';

export const DINGTALK_SIGN_TOLERANCE_MS = 60 * 60_000;

export function computeDingTalkSign(appSecret: string, timestamp: string): string {
  return createHmac('sha256', appSecret).update(`${timestamp}\n${appSecret}`, 'utf8').digest('base64');
}

/** Throws UnauthorizedError for a missing, stale or forged signature. */
export function verifyDingTalkSign(headers: Record<string, string | undefined>, appSecret: string, now: Date): void {
  const timestamp = headers['timestamp'];
  const sign = headers['sign'];
  if (!timestamp || !sign) throw new UnauthorizedError('missing DingTalk timestamp or sign header');
  if (!/^\d{1,15}$/.test(timestamp)) throw new UnauthorizedError('malformed DingTalk timestamp');
  if (Math.abs(now.getTime() - Number(timestamp)) > DINGTALK_SIGN_TOLERANCE_MS) {
    throw new UnauthorizedError('DingTalk timestamp is outside the allowed window');
  }
  if (!constantTimeEqual(computeDingTalkSign(appSecret, timestamp), sign)) {
    throw new UnauthorizedError('DingTalk signature does not match');
  }
}
