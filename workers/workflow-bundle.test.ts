import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { failureConverterPath } from '../security/keys.js';
import { prepareWorkflowBundle, pruneBundleCache, workflowBundleKey } from './workflow-bundle.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'conduit-bundle-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('workflow bundle cache key', () => {
  it('changes when the entry or a file it imports changes, and not otherwise', async () => {
    const dir = await tempDir();
    const entry = join(dir, 'index.ts');
    await writeFile(entry, "export { greet } from './greet.js';\n");
    await writeFile(
      join(dir, 'greet.ts'),
      "import type { X } from './types.js';\nexport async function greet() { return 'hi'; }\n",
    );
    await writeFile(join(dir, 'types.ts'), 'export type X = string;\n');
    await writeFile(join(dir, 'unrelated.ts'), 'export const a = 1;\n');
    const first = await workflowBundleKey({ workflowsPath: entry });
    expect(await workflowBundleKey({ workflowsPath: entry })).toBe(first);

    await writeFile(join(dir, 'unrelated.ts'), 'export const a = 2;\n');
    expect(await workflowBundleKey({ workflowsPath: entry })).toBe(first);

    await writeFile(join(dir, 'greet.ts'), "export async function greet() { return 'hello'; }\n");
    const second = await workflowBundleKey({ workflowsPath: entry });
    expect(second).not.toBe(first);

    // The converter the SDK bundles into the sandbox is an input too.
    expect(await workflowBundleKey({ workflowsPath: entry, dataConverter: { failureConverterPath } })).not.toBe(second);
  });

  it('covers the real workflow sources, and a second start reuses the bundle without webpack', async () => {
    const cacheDir = await tempDir();
    const lines: string[] = [];
    const options = { cacheDir, dataConverter: { failureConverterPath }, log: (line: string) => lines.push(line) };
    const built = await prepareWorkflowBundle(options);
    expect(built.reused).toBe(false);
    expect(built.codePath).toBe(join(cacheDir, `workflow-bundle-${built.key}.js`));
    const path = built.codePath as string;
    const { mtimeMs } = await stat(path);
    expect(await readFile(path, 'utf8')).toContain('handleMessage');

    const again = await prepareWorkflowBundle(options);
    expect(again).toMatchObject({ reused: true, key: built.key, bundle: { codePath: path } });
    expect((await stat(path)).mtimeMs).toBe(mtimeMs);
    expect(lines.at(-1)).toMatch(/reused/);

    // A corrupt file (checksum differs) is bundled again, never loaded.
    await writeFile(path, 'garbage');
    const repaired = await prepareWorkflowBundle(options);
    expect(repaired.reused).toBe(false);
    expect(await readFile(path, 'utf8')).toContain('handleMessage');
  }, 60_000);
});

describe('workflow bundle cache pruning', () => {
  const DAY = 24 * 60 * 60 * 1000;
  const bundleName = (n: number) => `workflow-bundle-${n.toString(16).padStart(20, '0')}.js`;

  it('keeps the five newest bundles and any built within a day; removes older ones with their checksums', async () => {
    const cacheDir = await tempDir();
    const now = Date.now();
    // Bundles 0..7 built 0..7 days ago, plus a temporary file a crashed write left behind 9 days ago.
    for (let n = 0; n < 8; n += 1) {
      const time = new Date(now - n * DAY - 1000);
      for (const name of [bundleName(n), `${bundleName(n)}.sha256`]) {
        await writeFile(join(cacheDir, name), 'x');
        await utimes(join(cacheDir, name), time, time);
      }
    }
    const leftover = `${bundleName(9)}.123.456.tmp`;
    await writeFile(join(cacheDir, leftover), 'x');
    await utimes(join(cacheDir, leftover), new Date(now - 9 * DAY), new Date(now - 9 * DAY));
    await writeFile(join(cacheDir, 'someone-elses-file.js'), 'x');
    await utimes(join(cacheDir, 'someone-elses-file.js'), new Date(now - 9 * DAY), new Date(now - 9 * DAY));

    // The bundle just loaded is kept even when it is not among the newest (a checkout of older code).
    const removed = await pruneBundleCache(cacheDir, { keep: join(cacheDir, bundleName(7)), now });
    expect(removed.sort()).toEqual(
      [bundleName(5), `${bundleName(5)}.sha256`, bundleName(6), `${bundleName(6)}.sha256`, leftover].sort(),
    );
    expect((await readdir(cacheDir)).sort()).toEqual(
      [0, 1, 2, 3, 4, 7]
        .flatMap((n) => [bundleName(n), `${bundleName(n)}.sha256`])
        .concat('someone-elses-file.js')
        .sort(),
    );
  });

  it('removes nothing built within the last day, however many there are', async () => {
    const cacheDir = await tempDir();
    for (let n = 0; n < 9; n += 1) await writeFile(join(cacheDir, bundleName(n)), 'x');
    expect(await pruneBundleCache(cacheDir)).toEqual([]);
    expect(await pruneBundleCache(join(cacheDir, 'missing'))).toEqual([]);
  });
});
