// Who is calling: the socket's peer address, or, only when that peer is a trusted proxy, the nearest
// untrusted address in X-Forwarded-For (read right to left: each proxy appends the address it saw, so
// everything left of the last trusted hop was written by the client and proves nothing).
import { BlockList, isIP } from 'node:net';

export type AddressMatcher = (address: string) => boolean;

/** `::ffff:10.0.0.1` (an IPv4 peer on a dual-stack socket) is 10.0.0.1. */
export function normalizeAddress(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

/** Matches addresses against IPs and CIDR ranges (entries are validated by security/settings.ts). */
export function createAddressMatcher(entries: readonly string[]): AddressMatcher {
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix] = entry.split('/');
    const single = normalizeAddress(address);
    if (prefix === undefined) list.addAddress(single, isIP(single) === 6 ? 'ipv6' : 'ipv4');
    else list.addSubnet(address, Number(prefix), isIP(address) === 6 ? 'ipv6' : 'ipv4');
  }
  return (address) => {
    const normalized = normalizeAddress(address);
    const family = isIP(normalized);
    if (family === 0) return false;
    return list.check(normalized, family === 6 ? 'ipv6' : 'ipv4');
  };
}

/**
 * The client address for a request that arrived from `peer` carrying `forwardedFor`. A forwarded value
 * is believed only from a trusted peer; an unparseable hop stops the walk at the last address known good.
 */
export function resolveClientAddress(
  peer: string,
  forwardedFor: string | undefined,
  isTrustedProxy: AddressMatcher,
): string {
  let client = normalizeAddress(peer);
  if (!forwardedFor || !isTrustedProxy(client)) return client;
  const hops = forwardedFor.split(',').map((hop) => hop.trim());
  for (let index = hops.length - 1; index >= 0; index -= 1) {
    const hop = normalizeAddress(stripPort(hops[index]!));
    if (isIP(hop) === 0) return client;
    client = hop;
    if (!isTrustedProxy(hop)) return hop;
  }
  return client;
}

/** Some proxies write `1.2.3.4:5678` or `[2001:db8::1]:443`. */
function stripPort(hop: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hop);
  if (bracketed) return bracketed[1]!;
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(hop);
  return v4WithPort ? v4WithPort[1]! : hop;
}
