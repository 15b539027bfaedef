// Finds or builds a Go-module binary under .tools/bin (the Temporal CLI, MinIO): PATH first, then the cached
// build, then `go install` once, with a progress line so a multi-minute first build never looks like a hang.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';

export interface GoToolSpec {
  binary: string;
  /** Module path with version, e.g. github.com/temporalio/cli/cmd/temporal@v1.5.1 */
  module: string;
  /** Shown in progress lines. */
  label: string;
  /**
   * The name `go install` gives the binary (the module path's last element) when it differs from `binary`: the
   * build is renamed, so a generic name such as `server` never lands in .tools/bin or is looked up on PATH.
   */
  installs?: string;
}

export type Progress = (line: string) => void;

/**
 * MinIO, the S3 server the integration tests and `npm run tools` build (the platform itself never runs it). Its
 * module proxy serves no RELEASE tags, only this pseudo-version of master (2026-02-12).
 */
export const minioSpec: GoToolSpec = {
  binary: 'minio',
  module: 'github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c',
  label: 'MinIO',
};

/**
 * The Temporal server and its SQL schema tool, for the production topology on this machine (`npm run stack:prod`,
 * the fault suite): v1.29.1 is the newest tag whose go.mod has no replace directive, so `go install` builds it.
 */
export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
export const temporalServerSpec: GoToolSpec = {
  binary: 'temporal-server',
  installs: 'server',
  module: `go.temporal.io/server/cmd/server@${TEMPORAL_SERVER_VERSION}`,
  label: `Temporal server ${TEMPORAL_SERVER_VERSION}`,
};
export const temporalSqlToolSpec: GoToolSpec = {
  binary: 'temporal-sql-tool',
  installs: 'sql',
  module: `go.temporal.io/server/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}`,
  label: `Temporal SQL tool ${TEMPORAL_SERVER_VERSION}`,
};

export const toolsBinDir = (projectRoot: string) => join(projectRoot, '.tools', 'bin');

export function findOnPath(binary: string, pathVariable = process.env.PATH ?? ''): string | undefined {
  for (const dir of pathVariable.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, binary);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

export function goAvailable(): boolean {
  return spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0;
}

export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}

/** Builds `spec` with `go install` into `.tools/bin`; resolves to the binary's path. */
export async function goInstall(projectRoot: string, spec: GoToolSpec, progress: Progress): Promise<string> {
  const binDir = resolve(toolsBinDir(projectRoot));
  await mkdir(binDir, { recursive: true });
  const started = Date.now();
  progress(`${spec.label}: building once with \`go install ${spec.module}\` into .tools/bin (takes a few minutes)`);
  const ticker = setInterval(
    () => progress(`${spec.label}: still building (${formatDuration(Date.now() - started)})`),
    20_000,
  );
  try {
    const output: string[] = [];
    const code = await new Promise<number | null>((resolveExit, reject) => {
      const child = spawn('go', ['install', spec.module], {
        env: { ...process.env, GOBIN: binDir, GOFLAGS: `${process.env.GOFLAGS ?? ''} -buildvcs=false`.trim() },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const keep = (chunk: Buffer) => {
        output.push(chunk.toString());
        if (output.length > 200) output.shift();
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      child.on('error', reject);
      child.on('exit', resolveExit);
    });
    const binary = join(binDir, spec.binary);
    const built = join(binDir, spec.installs ?? spec.binary);
    if (code === 0 && built !== binary && existsSync(built)) await rename(built, binary);
    if (code !== 0 || !existsSync(binary)) {
      const tail = output.join('').trim().split('\n').slice(-15).join('\n');
      throw new Error(`${spec.label}: go install ${spec.module} failed (exit ${code}):\n${tail}`);
    }
    progress(`${spec.label}: built in ${formatDuration(Date.now() - started)} (cached in .tools/bin)`);
    return binary;
  } finally {
    clearInterval(ticker);
  }
}

/** PATH, then .tools/bin, then a one-time `go install`; undefined when none is possible (no Go toolchain). */
export async function acquireGoTool(
  projectRoot: string,
  spec: GoToolSpec,
  progress: Progress,
): Promise<{ path: string; source: 'path' | 'cache' | 'built' } | undefined> {
  const onPath = findOnPath(spec.binary);
  if (onPath) return { path: onPath, source: 'path' };
  const cached = join(resolve(toolsBinDir(projectRoot)), spec.binary);
  if (existsSync(cached)) return { path: cached, source: 'cache' };
  if (!goAvailable()) return undefined;
  return { path: await goInstall(projectRoot, spec, progress), source: 'built' };
}
