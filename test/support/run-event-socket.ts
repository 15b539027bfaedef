// A WebSocket client of /v1/ws that keeps every run event it is sent, as a browser or a bot would hold one: the
// streaming tests drop, resume and crowd these (test/stream-resume.test.ts, the production topology's case 7).
import WebSocket from 'ws';

/** A run event as /v1/ws sends it. */
export interface EventFrame {
  id: number;
  workflowId: string;
  type: string;
  data: Record<string, unknown>;
}

export interface RunEventSocket {
  ws: WebSocket;
  /** Every event frame received, in arrival order (other frames, such as acknowledgements, are left out). */
  events: EventFrame[];
  closed: Promise<{ code: number; reason: string }>;
  send(frame: unknown): void;
}

/** Opens /v1/ws on `apiUrl` (http or https) with the API key and the query (`?last_event_id=…`) given. */
export function openRunEventSocket(apiUrl: string, key: string, query = ''): Promise<RunEventSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${apiUrl.replace(/^http/, 'ws')}/v1/ws${query}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    const events: EventFrame[] = [];
    const closed = new Promise<{ code: number; reason: string }>((done) =>
      ws.once('close', (code, reason) => done({ code, reason: reason.toString() })),
    );
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as EventFrame;
      if ('id' in frame) events.push(frame);
    });
    ws.once('error', reject);
    ws.once('open', () => resolve({ ws, events, closed, send: (frame) => ws.send(JSON.stringify(frame)) }));
  });
}

/** The id of the newest event among `events` (0 for none): where a resume continues from. */
export const lastEventId = (events: Array<{ id: number }>) => Math.max(0, ...events.map((event) => event.id));
