// A small real Feishu long-connection gateway, mounted on the Feishu open API fake (the SDK asks the same base URL):
// `POST /callback/ws/endpoint` hands out a WebSocket URL, and the WebSocket speaks the binary frame protocol of the
// official SDK's WSClient (protobuf `pbbp2.Frame`, encoded here by hand: the SDK does not export its codec).
// It answers the client's pings, pushes events as data frames and records the client's answer to each.
import { randomBytes } from 'node:crypto';
import type { Server, ServerResponse } from 'node:http';
import { type WebSocket, WebSocketServer } from 'ws';
import type { RecordedRequest } from './feishu-open-api.js';

/** pbbp2.Frame: SeqID=1, LogID=2, service=3, method=4 (0 control, 1 data), headers=5, payload=8. */
export interface Frame {
  seqId: number;
  logId: number;
  service: number;
  method: number;
  headers: Array<{ key: string; value: string }>;
  payload?: Buffer;
}

export interface EventAnswer {
  /** The `code` of the client's answer payload: 200 handled, 500 the handler threw. */
  code: number;
  /** Date.now() when it arrived. */
  at: number;
}

export interface FeishuLongConnectionGateway {
  /** Pass as `extend` to startFeishuOpenApi. */
  attach(server: Server): (request: RecordedRequest, res: ServerResponse) => boolean;
  endpointRequests: RecordedRequest[];
  /** Pings the clients sent. */
  pings(): number;
  connectionCount(): number;
  waitForConnection(timeoutMs?: number): Promise<void>;
  /** Pushes a schema 2.0 event as one data frame to the newest connection; returns the frame's message_id. */
  pushEvent(event: unknown): string;
  waitForAnswer(frameMessageId: string, timeoutMs?: number): Promise<EventAnswer>;
  answersTo(frameMessageId: string): EventAnswer[];
  close(): void;
}

const SERVICE_ID = 7;
const CLIENT_CONFIG = { PingInterval: 120, ReconnectCount: -1, ReconnectInterval: 1, ReconnectNonce: 0 };

export function createFeishuLongConnectionGateway(credentials: {
  appId: string;
  appSecret: string;
}): FeishuLongConnectionGateway {
  const endpointRequests: RecordedRequest[] = [];
  const answers = new Map<string, EventAnswer[]>();
  const tickets = new Set<string>();
  const sockets: WebSocket[] = [];
  const wss = new WebSocketServer({ noServer: true });
  let accepted = 0;
  let pings = 0;
  let sequence = 0;

  const onFrame = (socket: WebSocket, frame: Frame) => {
    const type = header(frame, 'type');
    if (frame.method === 0 && type === 'ping') {
      pings += 1;
      const pong: Frame = { ...frame, headers: [{ key: 'type', value: 'pong' }], payload: json(CLIENT_CONFIG) };
      socket.send(encodeFrame(pong));
      return;
    }
    if (frame.method === 1) {
      const messageId = header(frame, 'message_id') ?? '';
      const answer = JSON.parse(frame.payload?.toString('utf8') || '{}') as { code?: unknown };
      const list = answers.get(messageId) ?? [];
      list.push({ code: typeof answer.code === 'number' ? answer.code : -1, at: Date.now() });
      answers.set(messageId, list);
    }
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
    attach(server) {
      server.on('upgrade', (req, socket, head) => {
        const url = new URL(req.url ?? '/', 'http://fake');
        if (url.pathname !== '/ws' || !tickets.delete(url.searchParams.get('ticket') ?? '')) {
          socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
          return;
        }
        wss.handleUpgrade(req, socket, head, (ws) => {
          accepted += 1;
          sockets.push(ws);
          ws.on('message', (data: Buffer) => onFrame(ws, decodeFrame(data)));
          ws.on('close', () => sockets.splice(sockets.indexOf(ws), 1));
        });
      });
      return (request, res) => {
        if (request.method !== 'POST' || request.path !== '/callback/ws/endpoint') return false;
        endpointRequests.push(request);
        const body = (request.body ?? {}) as { AppID?: unknown; AppSecret?: unknown };
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
        if (body.AppID !== credentials.appId || body.AppSecret !== credentials.appSecret) {
          res.end(JSON.stringify({ code: 1000040343, msg: 'app id or secret is invalid', data: {} }));
          return true;
        }
        const ticket = randomBytes(8).toString('hex');
        tickets.add(ticket);
        // Feishu's own URL carries device_id and service_id among other parameters; the SDK reads service_id.
        const URL = `ws://${request.headers.host}/ws?fpid=1&device_id=fake-device&service_id=${SERVICE_ID}&ticket=${ticket}`;
        res.end(JSON.stringify({ code: 0, msg: 'ok', data: { URL, ClientConfig: CLIENT_CONFIG } }));
        return true;
      };
    },
    endpointRequests,
    pings: () => pings,
    connectionCount: () => accepted,
    async waitForConnection(timeoutMs = 15_000) {
      // The client pings as soon as it is connected: after that it is listening for frames.
      await poll(() => (sockets.length > 0 && pings > 0 ? true : undefined), timeoutMs, 'a long connection');
    },
    pushEvent(event) {
      const socket = sockets.at(-1);
      if (!socket) throw new Error('no client is connected to the fake Feishu long-connection gateway');
      const messageId = `fake-frame-${++sequence}-${randomBytes(4).toString('hex')}`;
      const frame: Frame = {
        seqId: sequence,
        logId: sequence,
        service: SERVICE_ID,
        method: 1,
        headers: [
          { key: 'type', value: 'event' },
          { key: 'message_id', value: messageId },
          { key: 'sum', value: '1' },
          { key: 'seq', value: '0' },
          { key: 'trace_id', value: `trace-${sequence}` },
        ],
        payload: json(event),
      };
      socket.send(encodeFrame(frame));
      return messageId;
    },
    waitForAnswer(frameMessageId, timeoutMs = 10_000) {
      return poll(() => answers.get(frameMessageId)?.[0], timeoutMs, `an answer to frame ${frameMessageId}`);
    },
    answersTo(frameMessageId) {
      return answers.get(frameMessageId) ?? [];
    },
    close() {
      for (const socket of [...sockets]) socket.terminate();
      wss.close();
    },
  };
}

function header(frame: Frame, key: string): string | undefined {
  return frame.headers.find((entry) => entry.key === key)?.value;
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

// ---- protobuf wire format, just what pbbp2.Frame needs: varints (wire type 0) and bytes (wire type 2) --------

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = BigInt(value);
  do {
    const low = Number(rest & 0x7fn);
    rest >>= 7n;
    bytes.push(rest > 0n ? low | 0x80 : low);
  } while (rest > 0n);
  return Buffer.from(bytes);
}

function key(field: number, wireType: 0 | 2): Buffer {
  return varint(field * 8 + wireType);
}

function bytesField(field: number, value: Buffer): Buffer {
  return Buffer.concat([key(field, 2), varint(value.length), value]);
}

export function encodeFrame(frame: Frame): Buffer {
  const parts = [
    key(1, 0),
    varint(frame.seqId),
    key(2, 0),
    varint(frame.logId),
    key(3, 0),
    varint(frame.service),
    key(4, 0),
    varint(frame.method),
  ];
  for (const entry of frame.headers) {
    const encoded = Buffer.concat([
      bytesField(1, Buffer.from(entry.key, 'utf8')),
      bytesField(2, Buffer.from(entry.value, 'utf8')),
    ]);
    parts.push(bytesField(5, encoded));
  }
  if (frame.payload) parts.push(bytesField(8, frame.payload));
  return Buffer.concat(parts);
}

export function decodeFrame(data: Buffer): Frame {
  const frame: Frame = { seqId: 0, logId: 0, service: 0, method: 0, headers: [] };
  for (const [field, value] of fields(data)) {
    if (field === 1 && typeof value === 'number') frame.seqId = value;
    else if (field === 2 && typeof value === 'number') frame.logId = value;
    else if (field === 3 && typeof value === 'number') frame.service = value;
    else if (field === 4 && typeof value === 'number') frame.method = value;
    else if (field === 5 && Buffer.isBuffer(value)) {
      const entry = { key: '', value: '' };
      for (const [part, text] of fields(value)) {
        if (part === 1 && Buffer.isBuffer(text)) entry.key = text.toString('utf8');
        if (part === 2 && Buffer.isBuffer(text)) entry.value = text.toString('utf8');
      }
      frame.headers.push(entry);
    } else if (field === 8 && Buffer.isBuffer(value)) frame.payload = value;
  }
  return frame;
}

function* fields(data: Buffer): Generator<[number, number | Buffer]> {
  let offset = 0;
  const readVarint = () => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const byte = data[offset++];
      if (byte === undefined) throw new Error('truncated protobuf varint');
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (offset < data.length) {
    const tag = Number(readVarint());
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (wireType === 0) yield [field, Number(readVarint())];
    else if (wireType === 2) {
      const length = Number(readVarint());
      yield [field, data.subarray(offset, offset + length)];
      offset += length;
    } else throw new Error(`unsupported protobuf wire type ${wireType}`);
  }
}
