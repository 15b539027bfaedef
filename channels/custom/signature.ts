// Conduit's webhook signature, Stripe-style: `X-Conduit-Signature: t=<unix s>,v1=<hex>` with
// v1 = HMAC-SHA256(secret, `${t}.${rawBody}`). Several v1 entries and several secrets may be live at once, so a
// secret can be rotated without dropping deliveries; the same scheme signs Conduit's callbacks.
import { createHmac } from 'node:crypto';
import { UnauthorizedError } from '../../core/errors.js';
import { constantTimeEqual } from '../constant-time.js';

export const CUSTOM_SIGNATURE_HEADER = 'x-conduit-signature';
export const CUSTOM_SIGNATURE_TOLERANCE_SECONDS = 300;

/** The `X-Conduit-Signature` header value for `body` sent at unix second `t`. */
export function signCustomPayload(secret: string, body: string, t: number): string {
  return `t=${t},v1=${hmacHex(secret, t, body)}`;
}

/** Throws UnauthorizedError unless the header is fresh and one of its v1 entries matches one of the secrets. */
export function verifyCustomSignature(header: string | undefined, body: string, secrets: string[], now: Date): void {
  if (!header) throw new UnauthorizedError('missing X-Conduit-Signature header');
  const { t, signatures } = parseSignatureHeader(header);
  if (Math.abs(now.getTime() / 1000 - t) > CUSTOM_SIGNATURE_TOLERANCE_SECONDS) {
    throw new UnauthorizedError('signature timestamp is outside the allowed window');
  }
  // Every pair is compared (no early exit) so timing does not reveal which secret matched.
  let matched = false;
  for (const secret of secrets) {
    const expected = hmacHex(secret, t, body);
    for (const signature of signatures) {
      if (constantTimeEqual(expected, signature)) matched = true;
    }
  }
  if (!matched) throw new UnauthorizedError('signature does not match');
}

function parseSignatureHeader(header: string): { t: number; signatures: string[] } {
  let t: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const separator = part.indexOf('=');
    if (separator < 0) continue;
    const key = part.slice(0, separator).trim();
    const value = part.slice(separator + 1).trim();
    if (key === 't') {
      if (t !== undefined || !/^\d{1,12}$/.test(value)) throw new UnauthorizedError('malformed signature timestamp');
      t = Number(value);
    } else if (key === 'v1') {
      signatures.push(value.toLowerCase());
    }
  }
  if (t === undefined) throw new UnauthorizedError('signature header has no timestamp');
  if (signatures.length === 0) throw new UnauthorizedError('signature header has no v1 signature');
  return { t, signatures };
}

function hmacHex(secret: string, t: number, body: string): string {
  return createHmac('sha256', secret).update(`${t}.${body}`, 'utf8').digest('hex');
}
