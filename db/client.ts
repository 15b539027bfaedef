// Opens the database behind one drizzle type: PostgreSQL through postgres.js when DATABASE_URL is set,
// otherwise the embedded PGlite store under the data directory. Migrations run on open.
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import * as schema from './schema.js';
import type { DatabaseSettings } from './settings.js';

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface DatabaseHandle {
  db: Database;
  kind: 'postgres' | 'pglite';
  ping(): Promise<void>;
  close(): Promise<void>;
}

const migrationsFolder = fileURLToPath(new URL('./migrations', import.meta.url));

export async function openDatabase(
  settings: DatabaseSettings,
  options: { migrate?: boolean; maxConnections?: number } = {},
): Promise<DatabaseHandle> {
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

async function openPglite(dir: string) {
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
  };
}
