// DingTalk's robot callback signature: headers `timestamp` (ms) and
// `sign` = base64(HMAC-SHA256(appSecret, timestamp + "\n" + appSecret)). DingTalk allows an hour of clock
// difference; Conduit's window is DINGTALK_SIGNATURE_MAX_AGE_SECONDS (5 minutes by default), because the sign
// covers only the timestamp: a captured one authenticates any body until it leaves the window.
import { createHmac } from 'node:crypto';
import { UnauthorizedError } from '../../core/errors.js';
import { constantTimeEqual } from '../constant-time.js';

/** DingTalk's own limit, and the default when no window is given. */
export const DINGTALK_SIGN_TOLERANCE_MS = 60 * 60_000;

export function computeDingTalkSign(appSecret: string, timestamp: string): string {
  return createHmac('sha256', appSecret).update(`${timestamp}\n${appSecret}`, 'utf8').digest('base64');
}

/** Throws UnauthorizedError for a missing, stale or forged signature. */
export function verifyDingTalkSign(
  headers: Record<string, string | undefined>,
  appSecret: string,
  now: Date,
  maxAgeMs = DINGTALK_SIGN_TOLERANCE_MS,
): void {
  const timestamp = headers['timestamp'];
  const sign = headers['sign'];
  if (!timestamp || !sign) throw new UnauthorizedError('missing DingTalk timestamp or sign header');
  if (!/^\d{1,15}$/.test(timestamp)) throw new UnauthorizedError('malformed DingTalk timestamp');
  if (Math.abs(now.getTime() - Number(timestamp)) > maxAgeMs) {
    throw new UnauthorizedError('DingTalk timestamp is outside the allowed window');
  }
  if (!constantTimeEqual(computeDingTalkSign(appSecret, timestamp), sign)) {
    throw new UnauthorizedError('DingTalk signature does not match');
  }
}
