// Keeps workflow payloads small: message text over 128 KB is stored in the object store before the run
// starts, and the run carries a preview and the object's key. Temporal refuses payloads over 2 MB and
// slows down long before that; every step that needs the full text reads it back by key.
import { createHash } from 'node:crypto';
import { UnavailableError } from '../core/errors.js';
import { encodeKeyPart, hasLoneSurrogate } from '../core/key-encoding.js';
import type { InboundMessage } from '../core/message.js';
import type { BlobStore } from '../storage/blob-store.js';

export const MAX_INLINE_TEXT_BYTES = 128 * 1024;
const PREVIEW_CHARS = 2_000;
/** What a sender is told to wait (Retry-After) when the object store cannot take a large text. */
export const OFFLOAD_RETRY_AFTER_SECONDS = 5;

export function offloadKey(message: InboundMessage): string {
  // Hashing keeps platform ids (which may hold any character) out of object keys. A lone surrogate would be
  // hashed as U+FFFD (two ids, one key): such ids are hashed in their injective encoding behind another marker.
  const id = message.messageId;
  const input = hasLoneSurrogate(id) ? `${message.channel}\u0001${encodeKeyPart(id)}` : `${message.channel}\u0000${id}`;
  const digest = createHash('sha256').update(input).digest('hex');
  return `messages/${message.channel.replace(/[^\w-]/g, '_')}/${digest}.txt`;
}

export async function offloadLargeText(message: InboundMessage, blobs: BlobStore): Promise<InboundMessage> {
  if (Buffer.byteLength(message.text) <= MAX_INLINE_TEXT_BYTES) return message;
  const key = offloadKey(message);
  try {
    await blobs.put(key, message.text, 'text/plain; charset=utf-8');
  } catch (cause) {
    // The door must not acknowledge a message whose text is nowhere: the sender is told to send it again later.
    throw new UnavailableError('the message text could not be stored now; send it again later', {
      cause,
      retryAfterSeconds: OFFLOAD_RETRY_AFTER_SECONDS,
    });
  }
  return { ...message, text: `${message.text.slice(0, PREVIEW_CHARS)}…`, textRef: key };
}

/** The full text of a message, reading it back from the object store when it was offloaded. */
export async function fullText(message: InboundMessage, blobs: BlobStore): Promise<string> {
  if (!message.textRef) return message.text;
  const stored = await blobs.get(message.textRef);
  if (!stored) throw new Error(`offloaded message text ${message.textRef} is missing from the object store`);
  return stored.toString('utf8');
}
