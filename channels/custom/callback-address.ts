// Where a custom message's callback_url may point. The caller names the URL, so without a check Conduit would
// post signed requests to its own loopback, the cloud metadata service or the private network on their behalf.
// The rules are the HTTP tools' (security/address-guard.ts): any public address; a loopback, link-local or
// private one only for a host the operator listed by exact name in CUSTOM_CALLBACK_ALLOWED_HOSTS.
import type { LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { BadRequestError } from '../../core/errors.js';
import {
  guardedLookup,
  isPublicAddress,
  mayReachPrivate,
  type Resolver,
  systemResolver,
} from '../../security/address-guard.js';

export interface CallbackPolicy {
  /** Hosts (exact names or IP literals) whose callbacks may reach private addresses. */
  allowedHosts: string[];
  /** Injected by tests; the system resolver otherwise. */
  resolve?: Resolver;
}

const refused = (url: URL, address: string) =>
  new BadRequestError(
    `callback_url host "${url.hostname}" (${address}) is a private, loopback or link-local address; ` +
      'list the host in CUSTOM_CALLBACK_ALLOWED_HOSTS to allow it',
  );

/**
 * Throws BadRequestError unless every address the URL's host resolves to may be reached. Run at ingress, so a
 * refused callback_url is a 400 before any run starts; the same rule is applied again when connecting.
 */
export async function checkCallbackUrl(rawUrl: string, policy: CallbackPolicy): Promise<void> {
  // The WHATWG parser has already normalised 2130706433, 0x7f.1 and 127.1 to 127.0.0.1.
  const url = new URL(rawUrl);
  if (mayReachPrivate(url.hostname, policy.allowedHosts)) return;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: LookupAddress[];
  if (isIP(host) !== 0) {
    addresses = [{ address: host, family: isIP(host) }];
  } else {
    try {
      addresses = await (policy.resolve ?? systemResolver)(host);
    } catch {
      throw new BadRequestError(`callback_url host "${url.hostname}" does not resolve`);
    }
  }
  const blocked = addresses.find((entry) => !isPublicAddress(entry.address));
  if (blocked) throw refused(url, blocked.address);
  if (addresses.length === 0) throw new BadRequestError(`callback_url host "${url.hostname}" does not resolve`);
}

/** The connection-time half: a `lookup` for http.request that refuses what checkCallbackUrl would. */
export function callbackLookup(url: URL, policy: CallbackPolicy) {
  return guardedLookup(mayReachPrivate(url.hostname, policy.allowedHosts), policy.resolve);
}
