// Delivers replies and progress notices to a custom message's callback_url, signed like inbound webhooks so
// the receiver can verify them with the same code. The connection goes through the address guard (see
// callback-address.ts) in its own DNS lookup, so the address checked is the address connected to, and
// redirects are never followed: a 3xx is a refusal like any other status. Each callback carries its idempotency
// key twice: as the Idempotency-Key header, and in the body, where the signature covers it.
import http from 'node:http';
import https from 'node:https';
import { BadRequestError, UpstreamError } from '../../core/errors.js';
import type { ReplyFormat } from '../../core/message.js';
import { BlockedAddressError, checkLiteralAddress, mayReachPrivate } from '../../security/address-guard.js';
import { isRetryableStatus } from '../http-json.js';
import { type CallbackPolicy, callbackLookup } from './callback-address.js';
import { signCustomPayload } from './signature.js';

export interface CustomCallbackBody {
  message_id: string;
  conversation_id: string;
  in_reply_to: string;
  text: string;
  format: ReplyFormat;
  kind: 'reply' | 'progress';
  /** The same on every retry of this callback (idempotency-key.ts); also sent as the Idempotency-Key header. */
  idempotency_key: string;
}

const TIMEOUT_MS = 10_000;

export async function postCallback(
  policy: CallbackPolicy,
  secret: string,
  rawUrl: string,
  payload: CustomCallbackBody,
  now: Date,
): Promise<void> {
  const body = JSON.stringify(payload);
  const signature = signCustomPayload(secret, body, Math.floor(now.getTime() / 1000));
  const url = new URL(rawUrl);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new BadRequestError('callback_url must be an http(s) URL');
  }
  // Node connects to an IP literal without a lookup, so literals are checked here.
  checkLiteralAddress(url.hostname, mayReachPrivate(url.hostname, policy.allowedHosts));
  const status = await send(
    url,
    policy,
    {
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
      'x-conduit-signature': signature,
      // Read from the signed body, so the header can never say something other than what the signature covers.
      'idempotency-key': payload.idempotency_key,
    },
    body,
  );
  if (status < 200 || status >= 300) {
    throw new UpstreamError(`custom callback answered HTTP ${status}`, { retryable: isRetryableStatus(status) });
  }
}

function send(url: URL, policy: CallbackPolicy, headers: Record<string, string>, body: string): Promise<number> {
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise<number>((resolve, reject) => {
    const request = transport.request(url, {
      method: 'POST',
      headers: { 'user-agent': 'Conduit callback', ...headers },
      // A fresh connection each time: a pooled socket would skip the guarded lookup.
      agent: false,
      lookup: callbackLookup(url, policy) as never,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    request.once('response', (response) => {
      response.resume();
      response.once('end', () => resolve(response.statusCode ?? 0));
      response.once('error', () => resolve(response.statusCode ?? 0));
    });
    request.once('error', (error) => {
      const cause = (error as { cause?: unknown }).cause;
      if (error instanceof BlockedAddressError) return reject(error);
      if (cause instanceof BlockedAddressError) return reject(cause);
      // The message never carries the URL: the receiver may keep a token in it.
      const reason = error.name === 'TimeoutError' || error.name === 'AbortError' ? 'timed out' : 'failed to connect';
      reject(new UpstreamError(`custom callback request ${reason}`, { retryable: true, cause: error }));
    });
    request.end(body);
  });
}
