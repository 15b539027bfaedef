// The idempotency key of a custom callback: the same on every attempt at one reply or progress notice, different
// between any two of them, so a receiver whose answer was lost can recognise the retry. It travels both as the
// Idempotency-Key header and inside the signed body, so it must be a value a header carries unchanged.
import { createHash } from 'node:crypto';

/** Visible ASCII, at most 255 characters: what a header carries byte for byte and a receiver's key column holds. */
const HEADER_SAFE_KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * A reply's key: the one the platform gave it (the reply outbox's key, stable across retries), or, when a caller
 * gives none, one derived from the message it answers.
 */
export function replyIdempotencyKey(messageId: string, givenKey: string | undefined): string {
  return headerSafe(givenKey || `${messageId}:reply`);
}

/**
 * A progress notice's key. The platform gives none, and a run may send several notices with different texts: the
 * text's digest tells them apart (a receiver that drops repeated keys still sees the newer notice), while a retry
 * of one notice, with the same text, gets the same key.
 */
export function progressIdempotencyKey(messageId: string, text: string): string {
  return headerSafe(`${messageId}:progress:${sha256Hex(text).slice(0, 16)}`);
}

/**
 * Message ids may hold spaces, any script or emoji, which a header cannot carry (Node refuses the request) or
 * carries as other bytes than the body: such a key, or an overlong one, is replaced by its digest.
 */
function headerSafe(key: string): string {
  return HEADER_SAFE_KEY.test(key) ? key : `sha256:${sha256Hex(key)}`;
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
