// Opens a Feishu delivery. With an encrypt key set, authentication comes first and decryption after: a signed
// delivery is decrypted only once its signature over the raw body matches, and every refusal before that point
// is the same RefusedDelivery, so forged ciphertexts cannot be used as a padding (decryption) oracle. Token
// checks happen on the payload (see adapter.ts).
import { BadRequestError } from '../../core/errors.js';
import type { RawRequest } from '../adapter.js';
import { constantTimeEqual } from '../constant-time.js';
import { RefusedDelivery } from '../refusal.js';
import { decryptFeishuPayload } from './decrypt.js';
import { checkFeishuSignature } from './signature.js';

export interface OpenedEnvelope {
  payload: Record<string, unknown>;
  /** Whether the body arrived encrypted: only a holder of the encrypt key could have produced it. */
  encrypted: boolean;
}

/** The one answer to every delivery refused before its signature (or, for a challenge, its token) is verified. */
export const FEISHU_REFUSAL_MESSAGE = 'Feishu delivery could not be authenticated';

const refuse = (reason: string) => new RefusedDelivery(FEISHU_REFUSAL_MESSAGE, reason);

/**
 * Feishu's challenges are UUIDs or short alphanumeric strings. An unsigned challenge is echoed back, so it is
 * held to that shape: spliced or bit-flipped ciphertext cannot be read back through the echo.
 */
const CHALLENGE = /^[A-Za-z0-9_-]{1,128}$/;

export interface EnvelopeSettings {
  encryptKey?: string;
  verificationToken?: string;
}

export function openFeishuEnvelope(request: RawRequest, settings: EnvelopeSettings, now: Date): OpenedEnvelope {
  const { encryptKey } = settings;
  if (!encryptKey) {
    const outer = parseObject(request.body, 'body');
    if ('encrypt' in outer) throw new BadRequestError('encrypted Feishu event but no encrypt key is configured');
    return { payload: outer, encrypted: false };
  }

  const timestamp = request.headers['x-lark-request-timestamp'];
  const nonce = request.headers['x-lark-request-nonce'];
  const signature = request.headers['x-lark-signature'];
  const present = [timestamp, nonce, signature].filter((value) => value !== undefined).length;
  if (present === 0) return openUnsignedChallenge(request.body, encryptKey, settings.verificationToken);
  if (present < 3) throw refuse('incomplete_signature_headers');
  const failure = checkFeishuSignature(
    { timestamp: timestamp!, nonce: nonce!, signature: signature! },
    encryptKey,
    request.body,
    now,
  );
  if (failure) throw refuse(failure);

  // From here on the body is Feishu's own: precise errors help the operator and tell an attacker nothing.
  const outer = parseObject(request.body, 'body');
  if (typeof outer['encrypt'] !== 'string') {
    throw new BadRequestError('plain Feishu event received although an encrypt key is configured');
  }
  const plaintext = decryptFeishuPayload(outer['encrypt'], encryptKey);
  if (plaintext === undefined) throw new BadRequestError('signed Feishu body does not decrypt with the encrypt key');
  return { payload: parseObject(plaintext, 'decrypted body'), encrypted: true };
}

/**
 * Feishu sends the url_verification challenge encrypted but without signature headers, so it is the one
 * delivery opened unsigned: it must decrypt to exactly a challenge carrying the verification token. Every way
 * it can fail gives the same refusal, whether the padding was good or bad.
 */
function openUnsignedChallenge(body: string, encryptKey: string, token: string | undefined): OpenedEnvelope {
  const outer = tryParseObject(body);
  const ciphertext = outer?.['encrypt'];
  if (typeof ciphertext !== 'string') throw refuse('unsigned');
  const plaintext = decryptFeishuPayload(ciphertext, encryptKey);
  const payload = plaintext === undefined ? undefined : tryParseObject(plaintext);
  const challenge = payload?.['challenge'];
  const isChallenge =
    payload?.['type'] === 'url_verification' && typeof challenge === 'string' && CHALLENGE.test(challenge);
  const tokenMatches =
    token === undefined || (typeof payload?.['token'] === 'string' && constantTimeEqual(payload['token'], token));
  if (!payload || !isChallenge || !tokenMatches) throw refuse('unsigned');
  return { payload, encrypted: true };
}

function tryParseObject(text: string): Record<string, unknown> | undefined {
  try {
    const json: unknown = JSON.parse(text);
    return typeof json === 'object' && json !== null && !Array.isArray(json)
      ? (json as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function parseObject(text: string, what: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new BadRequestError(`Feishu ${what} is not valid JSON`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new BadRequestError(`Feishu ${what} is not a JSON object`);
  }
  return json as Record<string, unknown>;
}
