// GET /v1/ws: takes WebSocket upgrades on the API's HTTP server, applies /v1's guards before the handshake (IP
// allowlist, rate limits, the bearer credential from the header, `?token=`, or `Sec-WebSocket-Protocol: bearer,
// <key>` for browsers, and the runs:read permission), and opens a session per client.
import { type IncomingMessage, type Server, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { errorBody } from '../errors.js';
import { may, type StreamEndpointDeps } from '../stream-guards.js';
import { WEBSOCKET_PATH, websocketRoute } from './route.js';
import { openSession } from './session.js';
/** The subprotocol a browser offers, followed by its key, when it cannot set an Authorization header. */
export const BEARER_SUBPROTOCOL = 'bearer';
/** A message frame holds at most 32,000 characters of text; UTF-8 and JSON escaping fit in this. */
const MAX_FRAME_BYTES = 256 * 1024;
const HEARTBEAT_MS = 30_000;

export type WebSocketHubDeps = StreamEndpointDeps;

export interface WebSocketHub {
  close(): Promise<void>;
}

export function attachWebSocketHub(server: Server, deps: WebSocketHubDeps): WebSocketHub {
  const logger = deps.logger.child({ channel: 'ws' });
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_FRAME_BYTES,
    // The handshake must name a subprotocol the client offered, or browsers drop the connection.
    handleProtocols: (protocols) => (protocols.has(BEARER_SUBPROTOCOL) ? BEARER_SUBPROTOCOL : false),
  });
  const alive = new WeakMap<object, boolean>();

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== WEBSOCKET_PATH) return refuse(socket, 404, 'not_found', 'no such route');
    const { guards } = deps;
    const forwardedFor = request.headers['x-forwarded-for'];
    const address = guards.clientAddress(
      request.socket.remoteAddress,
      Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor,
    );
    if (!guards.allows(address)) return refuse(socket, 403, 'forbidden', 'requests from this address are not allowed');
    const fromAddress = guards.takeForAddress(address);
    if (!fromAddress.ok) return refuseRateLimited(socket, 'from this address', fromAddress.retryAfterSeconds);
    const key = presentedKey(request, url);
    if (!key) return refuse(socket, 401, 'unauthorized', 'missing bearer token');
    deps.verifyApiKey(key).then(
      (principal) => {
        if (!principal) return refuse(socket, 401, 'unauthorized', 'invalid or revoked API key');
        const forCredential = guards.takeForCredential(principal);
        if (!forCredential.ok) return refuseRateLimited(socket, 'for this credential', forCredential.retryAfterSeconds);
        const permission = websocketRoute['x-permission'];
        if (!may(principal, permission)) {
          return refuse(socket, 403, 'forbidden', `role ${principal.role} lacks the ${permission} permission`);
        }
        wss.handleUpgrade(request, socket, head, (ws) => {
          alive.set(ws, true);
          ws.on('pong', () => alive.set(ws, true));
          openSession(ws, principal, url, { ...deps, logger });
        });
      },
      (error: unknown) => {
        logger.error({ err: error }, 'API key check failed');
        refuse(socket, 503, 'unavailable', 'cannot check the API key now');
      },
    );
  };
  server.on('upgrade', onUpgrade);

  // A client that vanished without a close frame (network drop) would otherwise hold its session forever.
  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.get(ws)) {
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();

  return {
    async close() {
      server.off('upgrade', onUpgrade);
      clearInterval(heartbeat);
      for (const ws of wss.clients) ws.close(1001, 'server shutting down');
      // The server reports closed once every client is gone; those that do not answer the close handshake
      // promptly are cut off.
      const closed = new Promise<void>((resolve) => wss.close(() => resolve()));
      const cutOff = setTimeout(() => {
        for (const ws of wss.clients) ws.terminate();
      }, 1000);
      await closed;
      clearTimeout(cutOff);
    },
  };
}

/** The API key from the Authorization header, `?token=`, or the subprotocol after `bearer`. */
export function presentedKey(request: IncomingMessage, url: URL): string | undefined {
  const header = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  if (header) return header[1];
  const token = url.searchParams.get('token');
  if (token) return token;
  const protocols = (request.headers['sec-websocket-protocol'] ?? '').split(',').map((part) => part.trim());
  const at = protocols.indexOf(BEARER_SUBPROTOCOL);
  return at >= 0 ? protocols[at + 1] || undefined : undefined;
}

function refuseRateLimited(socket: Duplex, what: string, retryAfterSeconds: number): void {
  refuse(socket, 429, 'rate_limited', `too many requests ${what}; retry in ${retryAfterSeconds} s`, [
    `Retry-After: ${retryAfterSeconds}`,
  ]);
}

/** Answers the upgrade request with a plain HTTP error in the API's error shape and closes the socket. */
function refuse(socket: Duplex, status: number, code: string, message: string, extraHeaders: string[] = []): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(errorBody(code, message));
  const headers = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    'Connection: close',
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...(status === 401 ? ['WWW-Authenticate: Bearer realm="conduit"'] : []),
    ...extraHeaders,
  ];
  socket.end(`${headers.join('\r\n')}\r\n\r\n${body}`);
}
