// A fresh PostgreSQL database per test run on the machine's server (127.0.0.1:5432, trust auth by default),
// dropped afterwards. When no server answers, the Debian cluster is started once.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import postgres from 'postgres';

export const ADMIN_URL = process.env.TEST_POSTGRES_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function reachable(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

function startDebianCluster(progress: (line: string) => void): void {
  if (!existsSync('/etc/postgresql')) return;
  for (const version of readdirSync('/etc/postgresql')) {
    progress(`PostgreSQL: starting the Debian cluster ${version}/main`);
    spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { stdio: 'inherit' });
  }
}

export async function createTestDatabase(progress: (line: string) => void) {
  if (!(await reachable(ADMIN_URL))) {
    startDebianCluster(progress);
    if (!(await reachable(ADMIN_URL))) {
      throw new Error(
        `PostgreSQL: nothing answers at ${ADMIN_URL.replace(/\/\/[^@]*@/, '//')}; set TEST_POSTGRES_ADMIN_URL`,
      );
    }
  }
  const name = `conduit_test_${Date.now()}_${process.pid}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const sql = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
      await sql.unsafe(`drop database if exists ${name} with (force)`);
      await sql.end();
    },
  };
}
