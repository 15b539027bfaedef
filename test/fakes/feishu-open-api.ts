// A small real HTTP server speaking Feishu's open API as Conduit uses it (tenant token, message reply, card
// patch), recording every call and scriptable per test. Used by unit and integration tests instead of Feishu.
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export interface FeishuFailure {
  /** HTTP status of the scripted answer (default 400, Feishu's usual status for an error code). */
  status?: number;
  code?: number;
  msg?: string;
}

export interface FeishuOpenApiFake {
  url: string;
  /** Message calls (reply and patch), in arrival order, including those that were answered with an error. */
  received: RecordedRequest[];
  tokenRequests: RecordedRequest[];
  /** The next message call (not token call) answers with this failure; queue several by calling again. */
  failNext(failure: FeishuFailure): void;
  /** Every message call answers with this failure until called again with undefined (an outage). */
  setOutage(failure: FeishuFailure | undefined): void;
  /** Invalidates every issued token: the next message call answers code 99991663. */
  expireTokens(): void;
  close(): Promise<void>;
}

export interface FeishuFakeOptions {
  appId?: string;
  appSecret?: string;
  /** Lifetime in seconds reported for issued tokens (Feishu: 7200). */
  tokenExpireSeconds?: number;
  /**
   * More endpoints on the same server (the long-connection gateway, which the SDK finds under the same base URL):
   * called once with the server; the handler it returns answers a request and says true, or leaves it with false.
   */
  extend?: (server: Server) => (request: RecordedRequest, res: ServerResponse) => boolean;
}

export async function startFeishuOpenApi(options: FeishuFakeOptions = {}): Promise<FeishuOpenApiFake> {
  const appId = options.appId ?? 'cli_fake';
  const appSecret = options.appSecret ?? 'fake-app-secret';
  const received: RecordedRequest[] = [];
  const tokenRequests: RecordedRequest[] = [];
  const failures: FeishuFailure[] = [];
  let outage: FeishuFailure | undefined;
  const liveTokens = new Set<string>();
  let sequence = 0;
  let extension: ((request: RecordedRequest, res: ServerResponse) => boolean) | undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const body = await readJson(req);
    const recorded: RecordedRequest = { method: req.method ?? 'GET', path, headers: req.headers, body };
    if (extension?.(recorded, res)) return;

    if (req.method === 'POST' && path === '/open-apis/auth/v3/tenant_access_token/internal') {
      tokenRequests.push(recorded);
      const credentials = (body ?? {}) as { app_id?: unknown; app_secret?: unknown };
      if (credentials.app_id !== appId || credentials.app_secret !== appSecret) {
        return send(res, 400, { code: 10014, msg: 'app secret invalid' });
      }
      const token = `t-fake-${++sequence}`;
      liveTokens.add(token);
      return send(res, 200, {
        code: 0,
        msg: 'ok',
        tenant_access_token: token,
        expire: options.tokenExpireSeconds ?? 7200,
      });
    }

    const reply = /^\/open-apis\/im\/v1\/messages\/([^/]+)\/reply$/.exec(path);
    const patch = /^\/open-apis\/im\/v1\/messages\/([^/]+)$/.exec(path);
    if (!(req.method === 'POST' && reply) && !(req.method === 'PATCH' && patch)) {
      return send(res, 404, { code: 404, msg: 'not found' });
    }
    received.push(recorded);
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token || !liveTokens.has(token)) {
      return send(res, 400, {
        code: 99991663,
        msg: 'Invalid access token for authorization. Please make a request with token attached.',
      });
    }
    const failure = outage ?? failures.shift();
    if (failure)
      return send(res, failure.status ?? 400, { code: failure.code ?? 1, msg: failure.msg ?? 'scripted failure' });

    const message = (body ?? {}) as { msg_type?: unknown; content?: unknown };
    if (typeof message.content !== 'string' || !isJson(message.content)) {
      return send(res, 400, { code: 230001, msg: 'invalid content: expected a JSON string' });
    }
    if (reply) {
      if (!['text', 'post', 'interactive', 'image', 'file'].includes(String(message.msg_type))) {
        return send(res, 400, { code: 230001, msg: 'invalid msg_type' });
      }
      const messageId = `om_fake_${++sequence}`;
      return send(res, 200, {
        code: 0,
        msg: 'success',
        data: { message_id: messageId, parent_id: reply[1], msg_type: message.msg_type },
      });
    }
    return send(res, 200, { code: 0, msg: 'success', data: {} });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => send(res, 500, { code: 1, msg: 'fake server error' }));
  });
  extension = options.extend?.(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    received,
    tokenRequests,
    failNext(failure) {
      failures.push(failure);
    },
    setOutage(failure) {
      outage = failure;
    },
    expireTokens() {
      liveTokens.clear();
    },
    close() {
      return new Promise((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      });
    },
  };
}

/** Encrypts an event the way Feishu does when an Encrypt Key is configured: the `encrypt` field's value. */
export function encryptFeishuEvent(plaintext: string, encryptKey: string, iv: Buffer = randomBytes(16)): string {
  const key = createHash('sha256').update(encryptKey, 'utf8').digest();
  const cipher = createCipheriv('aes-256-cbc', key, iv);
  return Buffer.concat([iv, cipher.update(plaintext, 'utf8'), cipher.final()]).toString('base64');
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : isJson(text) ? JSON.parse(text) : text;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}
