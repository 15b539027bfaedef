import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadOrCreateKeyFile } from './key-file.js';
import { formatKey, generateKey, parseKeyList } from './key-list.js';

const b64 = (bytes = 32) => randomBytes(bytes).toString('base64');

describe('parseKeyList', () => {
  it('reads comma- or line-separated id:base64 keys, the first being current', () => {
    const a = b64();
    const b = b64();
    const keys = parseKeyList(`# comment\nk2:${a}\n\n k1:${b} `);
    expect(keys.map((k) => k.id)).toEqual(['k2', 'k1']);
    expect(keys[0]!.key.toString('base64')).toBe(a);
    expect(parseKeyList(`k2:${a},k1:${b}`).map((k) => k.id)).toEqual(['k2', 'k1']);
  });

  it('names the bad entry by position without echoing key material', () => {
    const short = b64(16);
    expect(() => parseKeyList(`k1:${b64()},k2:${short}`)).toThrow(/^key 2 \(k2\): expected 32 bytes/);
    try {
      parseKeyList(`k1:${short}`);
    } catch (error) {
      expect((error as Error).message).not.toContain(short);
    }
    expect(() => parseKeyList(b64())).toThrow(/key 1: expected id:base64/);
    expect(() => parseKeyList(`bad id:${b64()}`)).toThrow(/key 1/);
    expect(() => parseKeyList(`k:${b64()},k:${b64()}`)).toThrow(/unique/);
    expect(() => parseKeyList(' , ')).toThrow(/at least one/);
  });

  it('round-trips generated keys', () => {
    const key = generateKey('payload', new Date('2025-03-04T00:00:00Z'));
    expect(key.id).toMatch(/^payload-20250304-[0-9a-f]{6}$/);
    expect(parseKeyList(formatKey(key))).toEqual([key]);
  });
});

describe('loadOrCreateKeyFile', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('creates the file once with mode 0600 and returns the same key afterwards', async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-keys-'));
    const path = join(dir, 'keys', 'payload-keys');
    const first = await loadOrCreateKeyFile(path, 'payload');
    expect(first.created).toBe(true);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'keys'))).mode & 0o777).toBe(0o700);
    const second = await loadOrCreateKeyFile(path, 'payload');
    expect(second.created).toBe(false);
    expect(second.keys).toEqual(first.keys);
    expect(second.looseMode).toBeUndefined();
  });

  it('gives concurrent starts one and the same key', async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-keys-'));
    const path = join(dir, 'payload-keys');
    const results = await Promise.all(Array.from({ length: 5 }, () => loadOrCreateKeyFile(path, 'payload')));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    for (const result of results) expect(result.keys).toEqual(results[0]!.keys);
  });

  it('reports a file others can read, and a corrupt file by path', async () => {
    dir = await mkdtemp(join(tmpdir(), 'conduit-keys-'));
    const path = join(dir, 'payload-keys');
    await writeFile(path, `k1:${b64()}\n`, { mode: 0o644 });
    expect((await loadOrCreateKeyFile(path, 'payload')).looseMode).toBe('644');
    await writeFile(path, 'garbage\n');
    await expect(loadOrCreateKeyFile(path, 'payload')).rejects.toThrow(`${path}: key 1`);
    expect(await readFile(path, 'utf8')).toBe('garbage\n');
  });
});
