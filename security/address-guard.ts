// The SSRF guard for requests Conduit sends on a caller's behalf (the HTTP tools, custom-channel callbacks):
// which hosts a request may name (the operator's allowlist) and which addresses it may connect to. Private,
// loopback and link-local addresses are refused unless the host is allow-listed exactly (no wildcard), and the
// check runs on the address actually connected to, so a DNS answer that changes between check and connect
// (rebinding) cannot slip through.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { BadRequestError } from '../core/errors.js';

const nonPublic = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this" network
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata services
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  nonPublic.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96], // NAT64 and 6to4/Teredo embed IPv4 addresses that may be private
  ['64:ff9b:1::', 48],
  ['2001::', 32],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10],
  ['ff00::', 8], // multicast
] as const) {
  nonPublic.addSubnet(network, prefix, 'ipv6');
}

/** True for a globally routable address; IPv4-mapped IPv6 addresses are judged by their IPv4 part. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return !nonPublic.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

const normalizeHost = (hostname: string) =>
  hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');

/** Allowlist entries are exact host names (`api.example.com`) or subdomain wildcards (`*.example.com`). */
export function isHostAllowed(hostname: string, allowedHosts: string[]): boolean {
  const host = normalizeHost(hostname);
  return allowedHosts.some((entry) =>
    entry.startsWith('*.') ? host.endsWith(entry.slice(1)) && host.length > entry.length - 1 : host === entry,
  );
}

/** Only a host the operator named exactly may resolve to a private address (an intranet API, a test server). */
export function mayReachPrivate(hostname: string, allowedHosts: string[]): boolean {
  const host = normalizeHost(hostname);
  return allowedHosts.some((entry) => !entry.startsWith('*.') && host === entry);
}

export class BlockedAddressError extends BadRequestError {}

function blocked(hostname: string, address: string): BlockedAddressError {
  return new BlockedAddressError(
    `host "${hostname}" resolves to ${address}, a private or local address; only hosts allow-listed by exact name may`,
  );
}

/** Checks a host that is an IP literal, which Node connects to without a DNS lookup. */
export function checkLiteralAddress(hostname: string, allowPrivate: boolean): void {
  const host = normalizeHost(hostname);
  if (isIP(host) !== 0 && !allowPrivate && !isPublicAddress(host)) throw blocked(hostname, host);
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) =>
      error ? reject(error) : resolve(addresses),
    ),
  );

/**
 * A `lookup` for http.request: resolves the name, refuses the connection if any answer is not public (unless
 * allowed), and hands the checked answers to the socket, so the address checked is the address connected to.
 */
export function guardedLookup(allowPrivate: boolean, resolve: Resolver = systemResolver) {
  return (hostname: string, options: { all?: boolean }, callback: LookupCallback): void => {
    resolve(hostname).then(
      (addresses) => {
        const bad = allowPrivate ? undefined : addresses.find((entry) => !isPublicAddress(entry.address));
        if (bad) return callback(blocked(hostname, bad.address), '');
        if (addresses.length === 0) {
          const error: NodeJS.ErrnoException = new Error(`no address for ${hostname}`);
          error.code = 'ENOTFOUND';
          return callback(error, '');
        }
        if (options.all) return callback(null, addresses);
        const first = addresses[0]!;
        return callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, ''),
    );
  };
}
