// What the socket says about a request under @hono/node-server: the peer address and, over mTLS, the
// client certificate. Requests built without a socket (app.request in tests) have neither.
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Context } from 'hono';
import { type AddressMatcher, createAddressMatcher, resolveClientAddress } from '../../security/client-ip.js';

const socketOf = (c: Context) => (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket;

export function peerAddress(c: Context): string | undefined {
  return socketOf(c)?.remoteAddress;
}

/** The client's address: the peer's, or from X-Forwarded-For only when the peer is a trusted proxy. */
export function createClientAddress(trustedProxies: readonly string[]): (c: Context) => string {
  const trusted: AddressMatcher = createAddressMatcher(trustedProxies);
  return (c) => {
    const peer = peerAddress(c);
    // No socket: an in-process request. '' makes hono's ip-restriction refuse it when a list is set.
    if (!peer) return '';
    return resolveClientAddress(peer, c.req.header('x-forwarded-for'), trusted);
  };
}

/** `CN=ops-bot, O=Example` for a verified client certificate; undefined without mTLS. */
export function peerCertificateSubject(c: Context): string | undefined {
  const socket = socketOf(c) as TLSSocket | undefined;
  if (!socket || typeof socket.getPeerCertificate !== 'function' || !socket.authorized) return undefined;
  const subject = socket.getPeerCertificate()?.subject as Record<string, string | string[]> | undefined;
  if (!subject || Object.keys(subject).length === 0) return undefined;
  return Object.entries(subject)
    .map(([field, value]) => `${field}=${Array.isArray(value) ? value.join('+') : value}`)
    .join(', ');
}
