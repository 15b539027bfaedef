// Opens a Feishu delivery: parses the body, checks the signature and decrypts when an encrypt key is set, and
// hands back the plain payload. Token checks happen on the payload (see adapter.ts).
import { BadRequestError, UnauthorizedError } from '../../core/errors.js';
import type { RawRequest } from '../adapter.js';
import { decryptFeishuPayload } from './decrypt.js';
import { verifyFeishuSignature } from './signature.js';

export interface OpenedEnvelope {
  payload: Record<string, unknown>;
  /** Whether the body arrived encrypted: only a holder of the encrypt key could have produced it. */
  encrypted: boolean;
}

export function openFeishuEnvelope(request: RawRequest, encryptKey: string | undefined, now: Date): OpenedEnvelope {
  const outer = parseObject(request.body, 'body');
  if (!encryptKey) {
    if ('encrypt' in outer) throw new BadRequestError('encrypted Feishu event but no encrypt key is configured');
    return { payload: outer, encrypted: false };
  }

  const timestamp = request.headers['x-lark-request-timestamp'];
  const nonce = request.headers['x-lark-request-nonce'];
  const signature = request.headers['x-lark-signature'];
  const present = [timestamp, nonce, signature].filter((value) => value !== undefined).length;
  if (present === 3) {
    verifyFeishuSignature(
      { timestamp: timestamp!, nonce: nonce!, signature: signature! },
      encryptKey,
      request.body,
      now,
    );
  } else if (present > 0) {
    throw new UnauthorizedError('incomplete Feishu signature headers');
  }

  const encrypted = typeof outer['encrypt'] === 'string';
  const payload = encrypted
    ? parseObject(decryptFeishuPayload(outer['encrypt'] as string, encryptKey), 'decrypted body')
    : outer;
  // Some setups send the url_verification challenge unsigned; it is still checked against the token later.
  // Every event proper must be both encrypted and signed once an encrypt key is configured.
  if (payload['type'] !== 'url_verification') {
    if (!encrypted) throw new UnauthorizedError('plain Feishu event received although an encrypt key is configured');
    if (present === 0) throw new UnauthorizedError('Feishu event is not signed');
  }
  return { payload, encrypted };
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
