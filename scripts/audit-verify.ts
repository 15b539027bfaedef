// `npm run audit:verify`: recomputes the audit log's hash chain against the configured database (same settings as
// npm start). Exit 0 when it verifies, 1 naming the first bad row, 2 on a configuration error.
//   --anchor <sequence>:<hash>   also require that row, from an earlier run or a log line, to be unchanged
import dotenv from 'dotenv';
import { verifyAuditChain } from '../audit/chain.js';
import { ConfigError } from '../core/settings.js';
import { openDatabase } from '../db/client.js';
import { loadConfig } from '../platform/config.js';

function fail(message: string, code: number): never {
  console.error(`audit:verify: ${message}`);
  process.exit(code);
}

const args = process.argv.slice(2);
let anchor: { sequence: number; hash: string } | undefined;
if (args[0] === '--anchor') {
  const match = /^(\d+):([0-9a-f]{64})$/.exec(args[1] ?? '');
  if (!match) fail('usage: npm run audit:verify [-- --anchor <sequence>:<sha256 hex>]', 2);
  anchor = { sequence: Number(match[1]), hash: match[2]! };
} else if (args.length > 0) {
  fail('usage: npm run audit:verify [-- --anchor <sequence>:<sha256 hex>]', 2);
}

dotenv.config({ quiet: true });
let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) fail(`configuration error: ${error.message}`, 2);
  throw error;
}
// Read only: no migrations, and legacy rows are left for the API to seal.
const database = await openDatabase(config.database, { migrate: false, maxConnections: 1 });
try {
  const result = await verifyAuditChain(database.db, { anchor });
  if (!result.ok) {
    fail(
      `FAILED at sequence ${result.firstBadSequence}: ${result.reason} (${result.checked} rows verified before it)`,
      1,
    );
  }
  const head = result.head ? `; head ${result.head.sequence}:${result.head.hash}` : '';
  console.log(`audit:verify: OK, ${result.checked} rows${head}`);
} finally {
  await database.close();
}
