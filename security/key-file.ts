// Keys that live in a file under the data directory when none are configured, so an embedded install
// encrypts from its first start. Created once (0600 in a 0700 directory); later starts read the same file.
import { randomBytes } from 'node:crypto';
import { access, chmod, link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { formatKey, generateKey, parseKeyList } from './key-list.js';
import type { EncryptionKey } from './payload-codec.js';

export interface LoadedKeys {
  keys: EncryptionKey[];
  /** `env` when the keys came from configuration, else the key file's path. */
  source: string;
  /** True on the start that generated the file. */
  created: boolean;
  /** Set when the file is readable by group or others (the caller should warn). */
  looseMode?: string;
}

const HEADER =
  '# Conduit keys: id:base64 (32 bytes), one a line. The first line encrypts; every line decrypts.\n' +
  '# To rotate: add a new key as the first line and restart. Keep old lines while data sealed with them exists.\n';

export async function loadOrCreateKeyFile(path: string, purpose: string): Promise<LoadedKeys> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  let created = false;
  // Written whole to a private temporary file, then linked into place: link() fails if the key file exists,
  // so two processes starting at once (an API and a worker on one volume) agree on one key, and neither
  // ever reads a half-written file.
  if (!(await exists(path))) {
    const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(temporary, `${HEADER}${formatKey(generateKey(purpose))}\n`, { flag: 'wx', mode: 0o600 });
    try {
      await link(temporary, path);
      created = true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      await unlink(temporary);
    }
  }
  let keys: EncryptionKey[];
  try {
    keys = parseKeyList(await readFile(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (created) await chmod(path, 0o600); // the umask can only have narrowed 0600; be explicit anyway
  const mode = (await stat(path)).mode & 0o777;
  return { keys, source: path, created, looseMode: mode & 0o077 ? mode.toString(8) : undefined };
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return false;
      throw error;
    },
  );
