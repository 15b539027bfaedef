/** @jsxImportSource hono/jsx */
// The audit screen: the newest 100 rows of the hash-chained audit log, and verifying the chain on demand as
// POST /v1/audit/verify does (this process's audit monitor when it has one).
import { desc } from 'drizzle-orm';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { type AuditVerification, verifyAuditChain } from '../../../audit/chain.js';
import { auditLog } from '../../../db/schema.js';
import type { ApiDeps } from '../../deps.js';
import { Page } from '../layout.js';
import { allowed, type ConsoleEnv, forbidden, utc } from '../screen.js';

export function auditScreen({ database, auditMonitor }: Pick<ApiDeps, 'database' | 'auditMonitor'>) {
  const app = new Hono<ConsoleEnv>();

  const auditPage = async (c: Context<ConsoleEnv>, verification?: AuditVerification) => {
    const session = c.get('session');
    const rows = await database.db.select().from(auditLog).orderBy(desc(auditLog.sequence)).limit(100);
    return c.html(
      <Page title="Audit log" session={session} current="/console/audit">
        <h1>Audit log</h1>
        <form method="post" action="/console/audit/verify">
          <input type="hidden" name="csrf" value={session.csrf} />
          <button type="submit">Verify the chain</button>
        </form>
        {verification ? (
          <p class={verification.ok ? 'notice' : 'error'} role="status">
            {verification.ok
              ? `The chain verifies: ${verification.checked} rows checked.`
              : `The chain is broken at row ${verification.firstBadSequence}: ${verification.reason ?? ''}`}
          </p>
        ) : null}
        <table>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">At</th>
              <th scope="col">Actor</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Outcome</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr>
                <td>{row.sequence}</td>
                <td>{utc(row.at)}</td>
                <td>{row.actor}</td>
                <td>{row.action}</td>
                <td>
                  <code>{row.target ?? ''}</code>
                </td>
                <td>{row.outcome}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Page>,
    );
  };

  app.get('/console/audit', async (c) => {
    const session = c.get('session');
    if (!allowed(session, 'audit:read')) return forbidden(c, session, 'audit:read');
    return auditPage(c);
  });

  app.post('/console/audit/verify', async (c) => {
    const session = c.get('session');
    if (!allowed(session, 'audit:read')) return forbidden(c, session, 'audit:read');
    const verification = auditMonitor ? await auditMonitor.check() : await verifyAuditChain(database.db);
    return auditPage(c, verification);
  });

  return app;
}
