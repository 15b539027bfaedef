// The workflow bundle, built once and reused: webpack runs only when the bundle's inputs changed. The cache key is
// a SHA-256 over everything that can change the bundle's bytes: the source of every file reachable by import from
// workflows/index.ts (and from the failure/payload converter modules the SDK bundles in), the versions of the
// packages they import plus @temporalio/worker (the bundler) and webpack, and the bundler options. A changed
// workflow file gives a new key, so a stale bundle is never used; a missing or corrupt cache file (its SHA-256
// sidecar does not match) falls back to bundling. Every worker and the replay test load the bundle through here,
// so what is replayed is what runs. Measured in docs/benchmarks.md ("Kept: prebuilt workflow bundle").
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import { bundleWorkflowCode, DefaultLogger, type WorkflowBundleOption } from '@temporalio/worker';

export const workflowsPath = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
const projectRoot = fileURLToPath(new URL('../', import.meta.url));
/** Gitignored with node_modules; one file per distinct input, so concurrent checkouts sharing it do not clash. */
export const defaultBundleCacheDir = join(projectRoot, 'node_modules', '.cache', 'conduit');

export interface WorkflowBundleOptions {
  /** The converter paths the SDK bundles into the sandbox: pass the data converter the worker uses. */
  dataConverter?: Pick<DataConverter, 'failureConverterPath' | 'payloadConverterPath'>;
  cacheDir?: string;
  /** The workflows entry point; tests point it at a fixture. */
  workflowsPath?: string;
  log?: (line: string) => void;
}

export interface PreparedWorkflowBundle {
  bundle: WorkflowBundleOption;
  key: string;
  /** True when the cached file was used and webpack did not run. */
  reused: boolean;
  codePath?: string;
  ms: number;
}

const importPattern =
  /(?:^|[\s;])(?:import|export)\s+(?:[^'";]*?\sfrom\s*)?['"]([^'"]+)['"]|\b(?:require|import)\(\s*['"]([^'"]+)['"]\s*\)/gm;

function resolveRelative(from: string, specifier: string): string | undefined {
  const base = resolve(dirname(from), specifier);
  const candidates = [
    base,
    base.replace(/\.js$/, '.ts'),
    base.replace(/\.cjs$/, '.cts'),
    `${base}.ts`,
    `${base}.js`,
    join(base, 'index.ts'),
  ];
  // A .js specifier in TypeScript names the .ts file next to it: prefer that over a stale compiled copy.
  if (base.endsWith('.js')) candidates.unshift(base.replace(/\.js$/, '.ts'));
  return candidates.find((candidate) => /\.[cm]?[jt]s$/.test(candidate) && existsSync(candidate));
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

async function packageVersion(name: string): Promise<string> {
  try {
    const manifest = JSON.parse(await readFile(join(projectRoot, 'node_modules', name, 'package.json'), 'utf8'));
    return String(manifest.version);
  } catch {
    return 'missing';
  }
}

/** Cache key of the bundle these options produce (see the file comment for what goes in). */
export async function workflowBundleKey(options: WorkflowBundleOptions = {}): Promise<string> {
  const converterPaths = {
    failureConverterPath: options.dataConverter?.failureConverterPath,
    payloadConverterPath: options.dataConverter?.payloadConverterPath,
  };
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ format: 1, ...converterPaths, entry: options.workflowsPath ?? workflowsPath }));
  const packages = new Set(['@temporalio/worker', '@temporalio/workflow', '@temporalio/common', 'webpack']);
  const seen = new Set<string>();
  const queue = [
    options.workflowsPath ?? workflowsPath,
    converterPaths.failureConverterPath,
    converterPaths.payloadConverterPath,
  ].filter((path): path is string => path !== undefined);
  while (queue.length > 0) {
    const file = queue.shift() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const source = await readFile(file, 'utf8');
    hash.update(`\0file\0${file.slice(projectRoot.length)}\0${source}`);
    for (const match of source.matchAll(importPattern)) {
      const specifier = match[1] ?? match[2];
      if (!specifier || specifier.startsWith('node:')) continue;
      if (specifier.startsWith('.')) {
        const target = resolveRelative(file, specifier);
        if (target) queue.push(target);
      } else {
        packages.add(packageName(specifier));
      }
    }
  }
  for (const name of [...packages].sort()) hash.update(`\0pkg\0${name}@${await packageVersion(name)}`);
  return hash.digest('hex').slice(0, 20);
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, path);
}

/**
 * The workflow bundle for Worker.create / Worker.runReplayHistories: the cached file when its key matches and its
 * checksum holds, otherwise a fresh webpack bundle, written to the cache for the next start (an unwritable cache
 * only costs the next start a bundle). The source map is inline in the bundle's code.
 */
export async function prepareWorkflowBundle(options: WorkflowBundleOptions = {}): Promise<PreparedWorkflowBundle> {
  const started = performance.now();
  const cacheDir = options.cacheDir ?? defaultBundleCacheDir;
  const key = await workflowBundleKey(options);
  const codePath = join(cacheDir, `workflow-bundle-${key}.js`);
  const sumPath = `${codePath}.sha256`;
  try {
    const [code, sum] = await Promise.all([readFile(codePath, 'utf8'), readFile(sumPath, 'utf8')]);
    if (sha256(code) === sum.trim()) {
      const ms = performance.now() - started;
      options.log?.(`workflow bundle ${key} reused from ${codePath} (${Math.round(ms)} ms)`);
      return { bundle: { codePath }, key, reused: true, codePath, ms };
    }
    options.log?.(`workflow bundle ${key} in the cache is corrupt (checksum differs): bundling again`);
  } catch {
    // Not cached yet (or unreadable): bundle below.
  }
  const { code } = await bundleWorkflowCode({
    workflowsPath: options.workflowsPath ?? workflowsPath,
    failureConverterPath: options.dataConverter?.failureConverterPath,
    payloadConverterPath: options.dataConverter?.payloadConverterPath,
    logger: new DefaultLogger('WARN'),
  });
  try {
    await mkdir(cacheDir, { recursive: true });
    await writeAtomically(codePath, code);
    await writeAtomically(sumPath, `${sha256(code)}\n`);
  } catch (error) {
    const ms = performance.now() - started;
    options.log?.(`workflow bundle ${key} built (${Math.round(ms)} ms) but not cached: ${String(error)}`);
    return { bundle: { code }, key, reused: false, ms };
  }
  const ms = performance.now() - started;
  options.log?.(`workflow bundle ${key} built and cached at ${codePath} (${Math.round(ms)} ms)`);
  await pruneBundleCache(cacheDir, { keep: codePath });
  return { bundle: { codePath }, key, reused: false, codePath, ms };
}

/** Bundles built this recently stay, however many there are: a checkout beside this one may be about to load one. */
const PRUNE_MIN_AGE_MS = 24 * 60 * 60 * 1000;
/** The newest bundles kept whatever their age (another branch, the code before a deploy). */
const PRUNE_KEEP_NEWEST = 5;
const cacheFilePattern = /^workflow-bundle-[0-9a-f]{20}\.js(?:\.sha256|\.\d+\.\d+\.tmp|\.sha256\.\d+\.\d+\.tmp)?$/;

/**
 * Each change to the workflow code leaves a bundle (about 2 MB) behind; without pruning the cache grows with every
 * edit. A worker reads its bundle once, when it is created, so deleting an old file never affects a running one.
 * Best effort: a file another process removed first, or an unreadable directory, is left alone.
 */
export async function pruneBundleCache(
  cacheDir: string,
  options: { keep?: string; now?: number } = {},
): Promise<string[]> {
  const now = options.now ?? Date.now();
  let names: string[];
  try {
    names = (await readdir(cacheDir)).filter((name) => cacheFilePattern.test(name));
  } catch {
    return [];
  }
  const files = (
    await Promise.all(
      names.map(async (name) => {
        const path = join(cacheDir, name);
        const info = await stat(path).catch(() => undefined);
        return info && { path, name, bundle: name.replace(/(\.js).*$/, '$1'), mtimeMs: info.mtimeMs };
      }),
    )
  ).filter((file) => file !== undefined);
  // Bundles by when they were built, newest first; their checksums and leftover temporary files go with them.
  const bundles = files
    .filter((file) => file.name === file.bundle)
    .sort((a, b) => b.mtimeMs - a.mtimeMs)
    .map((file) => file.bundle);
  const kept = new Set(bundles.slice(0, PRUNE_KEEP_NEWEST));
  if (options.keep) kept.add(options.keep.slice(cacheDir.length + 1));
  const removed: string[] = [];
  for (const file of files) {
    if (kept.has(file.bundle) || now - file.mtimeMs < PRUNE_MIN_AGE_MS) continue;
    await rm(file.path, { force: true }).catch(() => undefined);
    removed.push(file.name);
  }
  return removed;
}
