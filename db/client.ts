// Opens the database behind one drizzle type: PostgreSQL through postgres.js when DATABASE_URL is set,
// otherwise the embedded PGlite store under the data directory (on this thread, or on a thread of its own that
// other threads of the process reach through `share`). Migrations run on open.
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { startModuleThread } from '../core/module-thread.js';
import { remotePglite } from './pglite-remote.js';
import * as schema from './schema.js';
import type { DatabaseSettings } from './settings.js';

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface DatabaseHandle {
  db: Database;
  kind: 'postgres' | 'pglite';
  ping(): Promise<void>;
  close(): Promise<void>;
  /**
   * A port through which another thread of this process opens the same store (openSharedDatabase): only for a
   * PGlite store on its own thread, since its data directory must not be opened twice.
   */
  share?(): MessagePort;
}

const migrationsFolder = fileURLToPath(new URL('./migrations', import.meta.url));

export async function openDatabase(
  settings: DatabaseSettings,
  options: { migrate?: boolean; maxConnections?: number; pgliteThread?: boolean } = {},
): Promise<DatabaseHandle> {
  if (settings.kind === 'pglite' && options.pgliteThread) return openPgliteThread(settings.dir);
  const handle =
    settings.kind === 'postgres' ? await openPostgres(settings.url, options) : await openPglite(settings.dir);
  if (options.migrate !== false) await handle.migrate();
  return handle;
}

async function openPostgres(url: string, options: { maxConnections?: number }) {
  const { default: postgres } = await import('postgres');
  const { drizzle } = await import('drizzle-orm/postgres-js');
  const { migrate } = await import('drizzle-orm/postgres-js/migrator');
  // notice: () => {} keeps "relation already exists, skipping" notices from migrations out of the logs.
  const client = postgres(url, { max: options.maxConnections ?? 10, onnotice: () => {}, connect_timeout: 10 });
  const db = drizzle(client, { schema });
  return {
    db: db as unknown as Database,
    kind: 'postgres' as const,
    migrate: () => migrate(db, { migrationsFolder }),
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    close: () => client.end({ timeout: 5 }),
  };
}

/** The same database from another thread: PostgreSQL with a pool of its own, or the PGlite store shared with it. */
export async function openSharedDatabase(
  settings: DatabaseSettings,
  port: MessagePort | undefined,
): Promise<DatabaseHandle> {
  if (settings.kind === 'postgres') return openDatabase(settings, { migrate: false });
  if (!port) throw new Error('a PGlite store is opened by one thread only: no port to it was handed over');
  return remoteHandle(port, async () => undefined);
}

/** PGlite on a thread of its own (db/pglite-thread.ts), so its queries never hold up this thread's event loop. */
async function openPgliteThread(dir: string): Promise<DatabaseHandle> {
  const channel = new MessageChannel();
  const thread = startModuleThread(new URL('./pglite-thread.ts', import.meta.url), {
    workerData: { dir, port: channel.port2 },
    transferList: [channel.port2],
  });
  const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    thread.once('message', (message: { type: string; message?: string }) =>
      message.type === 'ready' ? resolve() : reject(new Error(`cannot open the PGlite store: ${message.message}`)),
    );
    thread.once('error', reject);
    thread.once('exit', (code) => reject(new Error(`the PGlite thread exited (${code}) while opening`)));
  });
  const handle = await remoteHandle(channel.port1, async () => {
    thread.postMessage({ type: 'close' });
    await exited;
  });
  return {
    ...handle,
    share() {
      const shared = new MessageChannel();
      thread.postMessage({ type: 'connect', port: shared.port2 }, [shared.port2]);
      return shared.port1;
    },
  };
}

async function remoteHandle(port: MessagePort, closeStore: () => Promise<void>): Promise<DatabaseHandle> {
  const { drizzle } = await import('drizzle-orm/pglite');
  const client = remotePglite(port);
  // drizzle-orm/pglite calls query and transaction only, which the remote client answers as PGlite would.
  const db = drizzle({ client: client as never, schema });
  return {
    db: db as unknown as Database,
    kind: 'pglite',
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    close: async () => {
      await client.close();
      await closeStore();
    },
  };
}

export async function openPglite(dir: string) {
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  const { migrate } = await import('drizzle-orm/pglite/migrator');
  await mkdir(dir, { recursive: true });
  const client = await PGlite.create(dir);
  const db = drizzle(client, { schema });
  return {
    db: db as unknown as Database,
    kind: 'pglite' as const,
    migrate: () => migrate(db, { migrationsFolder }),
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    close: () => client.close(),
    client,
  };
}
