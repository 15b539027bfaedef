// A small real DingTalk Stream gateway: the HTTP connection-open endpoint (credentials and subscriptions in,
// WebSocket endpoint and single-use ticket out) and a `ws` WebSocket server speaking the frame protocol: it
// pushes CALLBACK and SYSTEM frames and records every answer (ACKs, pongs) with the time it arrived.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

export const ROBOT_TOPIC = '/v1.0/im/bot/messages/get';
const OPEN_PATH = '/v1.0/gateway/connections/open';

export interface OpenRequest {
  headers: IncomingMessage['headers'];
  body: unknown;
}

export interface ClientAnswer {
  /** The answer as the client sent it: `{code, headers, message, data}`. */
  frame: { code?: unknown; headers?: Record<string, unknown>; message?: unknown; data?: unknown };
  /** Date.now() when it arrived. */
  at: number;
  /** Which connection carried it (1 for the first accepted). */
  connection: number;
}

export interface DingTalkStreamGatewayFake {
  /** The connection-open endpoint (DINGTALK_STREAM_GATEWAY_URL). */
  url: string;
  openRequests: OpenRequest[];
  answers: ClientAnswer[];
  /** WebSocket connections accepted so far. */
  connectionCount(): number;
  openConnections(): number;
  /** Resolves once `count` connections have been accepted in all (default 1). */
  waitForConnection(count?: number, timeoutMs?: number): Promise<void>;
  /** Pushes a robot message CALLBACK frame on the newest open connection; returns the frame's messageId. */
  pushRobotMessage(body: unknown, options?: { messageId?: string; topic?: string }): string;
  /** Pushes a SYSTEM frame (`ping`, `disconnect`, `KEEPALIVE`…) on the newest open connection. */
  pushSystem(topic: string, data?: unknown): string;
  /** Resolves with the client's answer to a frame. */
  waitForAnswer(messageId: string, timeoutMs?: number): Promise<ClientAnswer>;
  answersTo(messageId: string): ClientAnswer[];
  /** The next connection-open request answers with this HTTP status and body; queue several by calling again. */
  refuseNext(status: number, body: unknown): void;
  /** Cuts every connection without a close handshake, as a network failure would. */
  dropConnections(): void;
  close(): Promise<void>;
}

export interface DingTalkStreamGatewayOptions {
  appKey: string;
  appSecret: string;
}

export async function startDingTalkStreamGateway(
  options: DingTalkStreamGatewayOptions,
): Promise<DingTalkStreamGatewayFake> {
  const openRequests: OpenRequest[] = [];
  const answers: ClientAnswer[] = [];
  const refusals: Array<{ status: number; body: unknown }> = [];
  const tickets = new Set<string>();
  const sockets: Array<{ socket: WebSocket; number: number }> = [];
  let accepted = 0;
  let sequence = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readJson(req);
    if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://fake').pathname !== OPEN_PATH) {
      return send(res, 404, { code: 'NotFound', message: 'no such API' });
    }
    openRequests.push({ headers: req.headers, body });
    const refusal = refusals.shift();
    if (refusal) return send(res, refusal.status, refusal.body);
    const request = (body ?? {}) as { clientId?: unknown; clientSecret?: unknown; subscriptions?: unknown };
    if (request.clientId !== options.appKey || request.clientSecret !== options.appSecret) {
      return send(res, 401, { code: 'InvalidAuthentication', message: 'clientId or clientSecret is invalid' });
    }
    const subscriptions = Array.isArray(request.subscriptions) ? request.subscriptions : [];
    if (subscriptions.length === 0) {
      return send(res, 400, { code: 'InvalidParameter', message: 'subscriptions is empty' });
    }
    const ticket = randomBytes(12).toString('hex');
    tickets.add(ticket);
    return send(res, 200, { endpoint: `ws://${req.headers.host}/connect`, ticket });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => send(res, 500, { code: 'InternalError', message: 'fake gateway error' }));
  });
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const ticket = url.searchParams.get('ticket') ?? '';
    // A ticket opens one connection only.
    if (url.pathname !== '/connect' || !tickets.delete(ticket)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const number = ++accepted;
      const entry = { socket: ws, number };
      sockets.push(entry);
      ws.on('message', (data) => {
        try {
          answers.push({ frame: JSON.parse(data.toString()), at: Date.now(), connection: number });
        } catch {
          answers.push({
            frame: { message: `unparseable: ${data.toString().slice(0, 100)}` },
            at: Date.now(),
            connection: number,
          });
        }
      });
      ws.on('close', () => sockets.splice(sockets.indexOf(entry), 1));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const push = (
    type: string,
    topic: string,
    data: string,
    messageId = `msg-${++sequence}-${randomBytes(4).toString('hex')}`,
  ) => {
    const newest = sockets.at(-1);
    if (!newest) throw new Error('no client is connected to the fake DingTalk stream gateway');
    newest.socket.send(
      JSON.stringify({
        specVersion: '1.0',
        type,
        headers: {
          appId: 'fake-app-id',
          connectionId: `conn-${newest.number}`,
          contentType: 'application/json',
          messageId,
          time: String(Date.now()),
          topic,
        },
        data,
      }),
    );
    return messageId;
  };

  const poll = async <T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const value = probe();
      if (value !== undefined) return value;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
  };

  return {
    url: `http://127.0.0.1:${port}${OPEN_PATH}`,
    openRequests,
    answers,
    connectionCount: () => accepted,
    openConnections: () => sockets.length,
    async waitForConnection(count = 1, timeoutMs = 10_000) {
      await poll(() => (accepted >= count && sockets.length > 0 ? true : undefined), timeoutMs, `connection ${count}`);
    },
    pushRobotMessage(body, pushOptions = {}) {
      return push('CALLBACK', pushOptions.topic ?? ROBOT_TOPIC, JSON.stringify(body), pushOptions.messageId);
    },
    pushSystem(topic, data = {}) {
      return push('SYSTEM', topic, JSON.stringify(data));
    },
    waitForAnswer(messageId, timeoutMs = 10_000) {
      return poll(
        () => answers.find((answer) => answer.frame.headers?.['messageId'] === messageId),
        timeoutMs,
        `an answer to frame ${messageId}`,
      );
    },
    answersTo(messageId) {
      return answers.filter((answer) => answer.frame.headers?.['messageId'] === messageId);
    },
    refuseNext(status, body) {
      refusals.push({ status, body });
    },
    dropConnections() {
      for (const { socket } of [...sockets]) socket.terminate();
    },
    close() {
      for (const { socket } of [...sockets]) socket.terminate();
      wss.close();
      return new Promise((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      });
    },
  };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}
