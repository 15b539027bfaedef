// Real operations tools for the ops-* tests (Prometheus, promtool, nginx from their Debian packages): finds
// them on PATH, failing with the install command when one is missing, and runs them as supervised children.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { stopProcess } from '../../platform/child-process.js';

/** Debian package that provides each binary; .ci/run installs these when missing. */
const PACKAGES: Record<string, string> = { prometheus: 'prometheus', promtool: 'prometheus', nginx: 'nginx' };

/** The binary's path, or an error naming the package to install (the ops tests never skip). */
export function requireBinary(name: string): string {
  const found = spawnSync('sh', ['-c', `command -v ${name} || ls /usr/sbin/${name} 2>/dev/null`], {
    encoding: 'utf8',
  });
  const path = found.stdout.trim().split('\n')[0];
  if (found.status !== 0 || !path) {
    throw new Error(
      `\`${name}\` is not installed: this test needs the real binary. Install it with ` +
        `\`apt-get update && apt-get install -y ${PACKAGES[name] ?? name}\` (.ci/run does this on CI).`,
    );
  }
  return path;
}

export interface Supervised {
  child: ChildProcess;
  /** stdout and stderr so far, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

export function supervise(command: string, args: string[], options: { cwd?: string } = {}): Supervised {
  const child = spawn(command, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: string[] = [];
  const keep = (chunk: Buffer) => {
    chunks.push(chunk.toString());
    if (chunks.length > 400) chunks.splice(0, chunks.length - 400);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('error', (error) => chunks.push(`spawn error: ${error.message}`));
  return { child, output: () => chunks.join('').slice(-4000), stop: () => stopProcess(child) };
}

/** Runs a tool to completion (with `input` on its stdin) and returns its exit status and combined output. */
export function runTool(
  command: string,
  args: string[],
  cwd?: string,
  input?: string,
): { status: number | null; output: string } {
  const result = spawnSync(command, args, { cwd, input, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ?? ''}` };
}
