// A small real HTTP server speaking DingTalk's robot APIs as Conduit uses them (access token, single-chat
// batchSend, group send, and session webhooks), recording every call and scriptable per test.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  /** Query parameters, e.g. the `session` of a session webhook call. */
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export interface DingTalkFailure {
  /** HTTP status (default 200 for session webhooks, which report errors in errcode; 400 for the OpenAPI). */
  status?: number;
  /** Session webhook answer `{errcode, errmsg}` (default -1, "system busy"). */
  errcode?: number;
  errmsg?: string;
  /** OpenAPI answer `{code, message}`. */
  code?: string;
  message?: string;
}

export interface DingTalkOpenApiFake {
  url: string;
  /** Message calls (session webhook, batchSend, group send) in arrival order, including refused ones. */
  received: RecordedRequest[];
  tokenRequests: RecordedRequest[];
  /** A session webhook URL on this server, as DingTalk would put in a callback's sessionWebhook. */
  sessionWebhookUrl(session?: string): string;
  /** The next message call answers with this failure; queue several by calling again. */
  failNext(failure: DingTalkFailure): void;
  /** Invalidates every issued token: the next OpenAPI call answers 401 InvalidAuthentication. */
  expireTokens(): void;
  close(): Promise<void>;
}

export interface DingTalkFakeOptions {
  appKey?: string;
  appSecret?: string;
  /** Lifetime in seconds reported for issued tokens (DingTalk: 7200). */
  tokenExpireSeconds?: number;
}

const SESSION_PATH = '/robot/sendBySession';
const OTO_PATH = '/v1.0/robot/oToMessages/batchSend';
const GROUP_PATH = '/v1.0/robot/groupMessages/send';

export async function startDingTalkOpenApi(options: DingTalkFakeOptions = {}): Promise<DingTalkOpenApiFake> {
  const appKey = options.appKey ?? 'ding-fake-key';
  const appSecret = options.appSecret ?? 'fake-app-secret';
  const received: RecordedRequest[] = [];
  const tokenRequests: RecordedRequest[] = [];
  const failures: DingTalkFailure[] = [];
  const liveTokens = new Set<string>();
  let sequence = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const body = await readJson(req);
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body,
    };
    if (req.method !== 'POST') return send(res, 405, { code: 'MethodNotAllowed', message: 'POST only' });

    if (url.pathname === '/v1.0/oauth2/accessToken') {
      tokenRequests.push(recorded);
      const credentials = (body ?? {}) as { appKey?: unknown; appSecret?: unknown };
      if (credentials.appKey !== appKey || credentials.appSecret !== appSecret) {
        return send(res, 400, {
          requestid: `req-${++sequence}`,
          code: 'invalidClientIdOrSecret',
          message: 'invalid appKey or appSecret',
        });
      }
      const token = `dt-fake-${++sequence}`;
      liveTokens.add(token);
      return send(res, 200, { accessToken: token, expireIn: options.tokenExpireSeconds ?? 7200 });
    }

    if (url.pathname === SESSION_PATH) {
      received.push(recorded);
      const failure = failures.shift();
      if (failure) {
        return send(res, failure.status ?? 200, {
          errcode: failure.errcode ?? -1,
          errmsg: failure.errmsg ?? 'scripted failure',
        });
      }
      if (!url.searchParams.get('session')) return send(res, 200, { errcode: 300001, errmsg: 'session is invalid' });
      const msgtype = (body as { msgtype?: unknown } | undefined)?.msgtype;
      if (msgtype !== 'text' && msgtype !== 'markdown' && msgtype !== 'actionCard') {
        return send(res, 200, { errcode: 40035, errmsg: 'missing or invalid msgtype' });
      }
      return send(res, 200, { errcode: 0, errmsg: 'ok' });
    }

    if (url.pathname !== OTO_PATH && url.pathname !== GROUP_PATH) {
      return send(res, 404, { code: 'NotFound', message: 'no such API' });
    }
    received.push(recorded);
    const token = req.headers['x-acs-dingtalk-access-token'];
    if (typeof token !== 'string' || !liveTokens.has(token)) {
      return send(res, 401, {
        requestid: `req-${++sequence}`,
        code: 'InvalidAuthentication',
        message: 'invalid access token',
      });
    }
    const failure = failures.shift();
    if (failure) {
      return send(res, failure.status ?? 400, {
        requestid: `req-${++sequence}`,
        code: failure.code ?? 'ScriptedFailure',
        message: failure.message ?? 'scripted failure',
      });
    }
    const message = (body ?? {}) as { msgKey?: unknown; msgParam?: unknown; robotCode?: unknown };
    if (typeof message.robotCode !== 'string' || typeof message.msgKey !== 'string' || !isJsonText(message.msgParam)) {
      return send(res, 400, {
        requestid: `req-${++sequence}`,
        code: 'InvalidParameter',
        message: 'robotCode, msgKey and msgParam are required',
      });
    }
    const processQueryKey = `pqk-${++sequence}`;
    return send(
      res,
      200,
      url.pathname === OTO_PATH
        ? { processQueryKey, invalidStaffIdList: [], flowControlledStaffIdList: [] }
        : { processQueryKey },
    );
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => send(res, 500, { code: 'InternalError', message: 'fake server error' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;

  return {
    url: base,
    received,
    tokenRequests,
    sessionWebhookUrl(session = `session-${++sequence}`) {
      return `${base}${SESSION_PATH}?session=${encodeURIComponent(session)}`;
    },
    failNext(failure) {
      failures.push(failure);
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

function isJsonText(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    JSON.parse(value);
    return true;
  } catch {
    return false;
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}
