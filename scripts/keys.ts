// `npm run keys -- <command>`: manage API keys against the configured database (same settings as npm start).
//   create <name> <role>   prints the new key once; only its hash is stored
//   list                   ids, names, roles, created and revoked times (never keys)
//   revoke <id>            the key stops working at once
//   new-key <purpose>      prints a fresh id:base64 line for CONDUIT_PAYLOAD_KEYS / CONDUIT_MASTER_KEY
import dotenv from 'dotenv';
import { createApiKey, listApiKeys, revokeApiKey } from '../api/admin-keys.js';
import { ConfigError } from '../core/settings.js';
import { openDatabase } from '../db/client.js';
import { loadConfig } from '../platform/config.js';
import { formatKey, generateKey } from '../security/key-list.js';
import { isRole, ROLES } from '../security/rbac.js';

const USAGE = `usage: npm run keys -- create <name> <${ROLES.join('|')}> | list | revoke <id> | new-key <payload>`;

function fail(message: string, code = 1): never {
  console.error(`keys: ${message}`);
  process.exit(code);
}

const [command, ...args] = process.argv.slice(2);

if (command === 'new-key') {
  const purpose = args[0] ?? 'payload';
  if (!/^[a-z][a-z0-9-]{0,30}$/.test(purpose)) fail('the purpose is a short lowercase word, e.g. payload');
  console.log(formatKey(generateKey(purpose)));
  process.exit(0);
}
if (!command || !['create', 'list', 'revoke'].includes(command)) fail(USAGE, 2);

dotenv.config({ quiet: true });
let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) fail(`configuration error: ${error.message}`, 2);
  throw error;
}
const database = await openDatabase(config.database);
try {
  if (command === 'create') {
    const [name, role] = args;
    if (!name || !role) fail(USAGE, 2);
    if (!/^[\w .:@-]{1,100}$/.test(name)) fail('the name is 1-100 letters, digits, spaces or ._:@-', 2);
    if (!isRole(role)) fail(`unknown role ${role}; one of ${ROLES.join(', ')}`, 2);
    const { id, key } = await createApiKey(database.db, name, role);
    console.error(`keys: created ${id} (${name}, ${role}); the key is shown this once and cannot be recovered:`);
    console.log(key);
  } else if (command === 'list') {
    const keys = await listApiKeys(database.db);
    if (keys.length === 0) console.error('keys: no API keys');
    for (const key of keys) {
      const state = key.revokedAt ? `revoked ${key.revokedAt.toISOString()}` : 'active';
      console.log([key.id, key.role.padEnd(8), state.padEnd(32), key.createdAt.toISOString(), key.name].join('  '));
    }
  } else {
    const [id] = args;
    if (!id) fail(USAGE, 2);
    if (!(await revokeApiKey(database.db, id))) fail(`no active key ${id}`);
    console.error(`keys: revoked ${id}`);
  }
} finally {
  await database.close();
}
