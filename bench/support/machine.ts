// The machine a run was measured on: printed with every run and written next to the results.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { ADMIN_URL } from '../../test/support/postgres.js';
import { TEMPORAL_CLI_VERSION } from './services.js';

export interface MachineInfo {
  date: string;
  cpuModel: string;
  cores: number;
  ramGiB: number;
  node: string;
  temporalCli: string;
  postgres: string;
  kernel: string;
  loadAverage: number[];
  loadAverageAfter?: number[];
}

export async function machineInfo(projectRoot: string): Promise<MachineInfo> {
  const run = promisify(execFile);
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  const temporal = await run(join(projectRoot, '.tools/bin/temporal'), ['--version'])
    .then(({ stdout }) => stdout.trim())
    .catch(() => 'unknown');
  const sql = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  const pg = await sql`show server_version`
    .then((rows) => `PostgreSQL ${rows[0]?.server_version ?? '?'}`)
    .catch(() => 'unknown')
    .finally(() => sql.end({ timeout: 1 }));
  const kernel = (await readFile('/proc/sys/kernel/osrelease', 'utf8').catch(() => '')).trim();
  return {
    date: new Date().toISOString(),
    cpuModel: /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    ramGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    temporalCli: `${temporal.replace(/^temporal version /, '')}, built from ${TEMPORAL_CLI_VERSION}`,
    postgres: pg,
    kernel,
    loadAverage: loadavg().map((value) => Math.round(value * 100) / 100),
  };
}
