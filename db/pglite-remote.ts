// One PGlite store served to the other threads of this process over MessagePorts: `servePglite` answers on the
// thread that owns the store (db/pglite-thread.ts), `remotePglite` is the client drizzle is given elsewhere. PGlite
// is a single WASM instance that runs every query synchronously on its own thread, and its data directory must
// never be opened twice; this keeps it on one thread without putting its work on the API's event loop.
import type { MessagePort } from 'node:worker_threads';
import { type PGlite, type Results, types } from '@electric-sql/pglite';

/** A query as drizzle-orm/pglite sends it (its `parsers` are always the identity on dates and intervals). */
type QueryOptions = { rowMode?: 'array' | 'object' };

type Request =
  | { id: number; op: 'query'; sql: string; params?: unknown[]; rowMode?: 'array' | 'object'; tx?: number }
  | { id: number; op: 'begin' }
  | { id: number; op: 'end'; tx: number; commit: boolean };

type Answer = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: SerializedError };

interface SerializedError {
  message: string;
  name: string;
  /** PostgreSQL's fields (code, detail, constraint …): structured clone would keep only message and name. */
  fields: Record<string, unknown>;
}

/** What drizzle-orm/pglite does to these types on its own PGlite: keep PostgreSQL's text (drizzle maps it). */
const PARSERS = Object.fromEntries(
  [types.TIMESTAMP, types.TIMESTAMPTZ, types.INTERVAL, types.DATE, 1231, 1115, 1185, 1187, 1182].map((oid) => [
    oid,
    (value: string) => value,
  ]),
);

class Rollback extends Error {}

/** Answers one client's requests on `port` until it closes; a transaction it left open is rolled back. */
export function servePglite(pglite: PGlite, port: MessagePort): void {
  type Tx = Parameters<Parameters<PGlite['transaction']>[0]>[0];
  const open = new Map<number, { tx: Tx; finish(commit: boolean): void }>();
  const ends = new Map<number, Promise<void>>();
  const ending = new Set<number>();
  let nextTx = 1;
  const answer = (message: Answer) => port.postMessage(message);
  const fail = (id: number, error: unknown) => answer({ id, ok: false, error: serializeError(error) });
  port.on('message', (request: Request) => {
    if (request.op === 'query') {
      const target = request.tx === undefined ? pglite : open.get(request.tx)?.tx;
      if (!target) return fail(request.id, new Error(`transaction ${request.tx} is not open`));
      target
        .query(request.sql, request.params, { rowMode: request.rowMode, parsers: PARSERS })
        .then((result: Results<unknown>) =>
          answer({
            id: request.id,
            ok: true,
            value: { rows: result.rows, affectedRows: result.affectedRows, fields: result.fields },
          }),
        )
        .catch((error: unknown) => fail(request.id, error));
    } else if (request.op === 'begin') {
      const txId = nextTx++;
      const ended = pglite.transaction(async (tx) => {
        const commit = await new Promise<boolean>((resolve) => {
          open.set(txId, { tx, finish: resolve });
          answer({ id: request.id, ok: true, value: txId });
        });
        open.delete(txId);
        if (!commit) throw new Rollback();
      });
      // The answer to `end` is sent when PGlite has committed or rolled back (see the `end` branch).
      ends.set(txId, ended);
      ended.catch((error: unknown) => {
        // A transaction that never opened (BEGIN failed) is answered here; one that did is answered by `end`.
        if (!open.has(txId) && !ending.has(txId)) fail(request.id, error);
      });
    } else {
      const entry = open.get(request.tx);
      const ended = ends.get(request.tx);
      if (!entry || !ended) return fail(request.id, new Error(`transaction ${request.tx} is not open`));
      ending.add(request.tx);
      entry.finish(request.commit);
      ended
        .then(
          () => answer({ id: request.id, ok: true, value: null }),
          (error: unknown) =>
            error instanceof Rollback ? answer({ id: request.id, ok: true, value: null }) : fail(request.id, error),
        )
        .finally(() => {
          ends.delete(request.tx);
          ending.delete(request.tx);
        });
    }
  });
  port.on('close', () => {
    for (const entry of open.values()) entry.finish(false);
  });
}

function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { message: String(error), name: 'Error', fields: {} };
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    if (value === null || ['string', 'number', 'boolean'].includes(typeof value)) fields[key] = value;
  }
  return { message: error.message, name: error.name, fields };
}

function toError(serialized: SerializedError): Error {
  const error = new Error(serialized.message);
  error.name = serialized.name;
  return Object.assign(error, serialized.fields);
}

export interface RemotePglite {
  query<T>(sql: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>>;
  transaction<T>(callback: (tx: RemoteTransaction) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface RemoteTransaction {
  query<T>(sql: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>>;
}

/** The client side of servePglite: what drizzle-orm/pglite calls on a PGlite (query, transaction). */
export function remotePglite(port: MessagePort): RemotePglite {
  const waiting = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextId = 1;
  port.on('message', (message: Answer) => {
    const pending = waiting.get(message.id);
    if (!pending) return;
    waiting.delete(message.id);
    if (message.ok) pending.resolve(message.value);
    else pending.reject(toError(message.error));
  });
  // No request outstanding keeps the thread alive; one in flight does.
  port.unref();
  type Body = Request extends infer R ? (R extends Request ? Omit<R, 'id'> : never) : never;
  const call = <T>(request: Body): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      if (waiting.size === 0) port.ref();
      waiting.set(id, {
        resolve: (value) => {
          if (waiting.size === 0) port.unref();
          resolve(value as T);
        },
        reject: (error) => {
          if (waiting.size === 0) port.unref();
          reject(error);
        },
      });
      port.postMessage({ ...request, id } as Request);
    });
  const query =
    (tx?: number) =>
    <T>(sql: string, params?: unknown[], options?: QueryOptions) =>
      call<Results<T>>({ op: 'query', sql, params, rowMode: options?.rowMode, tx });
  return {
    query: query(),
    async transaction<T>(callback: (tx: RemoteTransaction) => Promise<T>): Promise<T> {
      const tx = await call<number>({ op: 'begin' });
      let result: T;
      try {
        result = await callback({ query: query(tx) });
      } catch (error) {
        await call({ op: 'end', tx, commit: false }).catch(() => undefined);
        throw error;
      }
      await call({ op: 'end', tx, commit: true });
      return result;
    },
    async close() {
      port.close();
      for (const pending of waiting.values()) pending.reject(new Error('database connection closed'));
      waiting.clear();
    },
  };
}
