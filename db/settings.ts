// Which database holds Conduit's tables: PostgreSQL at DATABASE_URL, or an embedded PGlite under the data
// directory when it is unset.
import { z } from 'zod';
import { optionalString, parseVariables, type Variables } from '../core/settings.js';

const databaseVariables = z.object({
  DATABASE_URL: optionalString.refine(
    (value) => value === undefined || /^postgres(ql)?:\/\//.test(value),
    'expected a postgres:// or postgresql:// URL',
  ),
});

export type DatabaseSettings = { kind: 'postgres'; url: string } | { kind: 'pglite'; dir: string };

export function parseDatabaseSettings(source: Variables, dataDir: string): DatabaseSettings {
  const env = parseVariables(databaseVariables, source);
  return env.DATABASE_URL ? { kind: 'postgres', url: env.DATABASE_URL } : { kind: 'pglite', dir: `${dataDir}/pglite` };
}
