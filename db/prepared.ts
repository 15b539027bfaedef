// Prepared statements for the writes and reads every run makes. drizzle renders a query builder's SQL text on every
// execution (a few hundred microseconds of the worker's CPU per statement, 3 to 4 ms per six-step run in its
// profile), and without a name postgres.js sends each statement unnamed, so PostgreSQL parses and plans it every
// time. A query built once per database handle with placeholders for its values is rendered once, and
// postgres.js prepares it once per connection. PGlite runs the same text with its parameters.
import { type SQL, sql, type WithSubquery } from 'drizzle-orm';
import type { Database } from './client.js';

/** What a prepared statement's SQL depends on besides the database: its values never, only its shape. */
export interface StatementShape {
  /** A shape the statement takes, such as how many rows it inserts. */
  variant?: string;
  /** A write the statement carries as a CTE. */
  alongside?: AlongsideWrite;
}

/**
 * Builds a statement once per database handle and shape, then hands back that one. A transaction's handle is a
 * new object each time, so a statement made inside one is built for it, as before.
 */
export function preparedPerDatabase<Q>(
  build: (db: Database, shape: StatementShape) => Q,
): (db: Database, shape?: StatementShape) => Q {
  const byDatabase = new WeakMap<Database, Map<string, Q>>();
  return (db, shape = {}) => {
    let byShape = byDatabase.get(db);
    if (!byShape) {
      byShape = new Map();
      byDatabase.set(db, byShape);
    }
    const key = `${shape.variant ?? ''}|${shape.alongside?.name ?? ''}`;
    let statement = byShape.get(key);
    if (statement === undefined) {
      statement = build(db, shape);
      byShape.set(key, statement);
    }
    return statement;
  };
}

/**
 * A write a caller sends inside another module's statement, as a CTE, to save a round trip (the step's run event
 * with the step's last write). Its values are placeholders, so the statement that carries it stays prepared.
 */
export interface AlongsideWrite {
  /** Names the CTE's shape: the carrying statement is prepared once per name. */
  name: string;
  /** The CTE, with placeholders for its values; their names must not clash with the carrier's. */
  cte(db: Database): WithSubquery;
  /** The placeholders' values. */
  values: Record<string, unknown>;
}

/**
 * A placeholder where drizzle's types take only SQL (an update's `set`). Its value goes to the driver as given, not
 * through the column's encoder: pass a timestamp as its ISO text.
 */
export const placeholderValue = (name: string): SQL => sql`${sql.placeholder(name)}`;
