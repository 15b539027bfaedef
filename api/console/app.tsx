/** @jsxImportSource hono/jsx */
// The Conduit console at /console: the few screens the Temporal UI cannot provide, server-rendered with Hono
// JSX (no build step: tsx compiles it with the rest under `npm start`). It has its own authentication (a
// session cookie from signing in with an API key, api/console/sessions.ts) instead of the /v1 bearer guards,
// checks the same RBAC permissions as the API routes and calls the same domain code, never HTTP to itself.
import { readFileSync } from 'node:fs';
import { WorkflowNotFoundError } from '@temporalio/client';
import { and, desc, eq } from 'drizzle-orm';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { type AuditVerification, appendAudit, verifyAuditChain } from '../../audit/chain.js';
import { auditLog, jobs } from '../../db/schema.js';
import { approveSignal, rejectSignal, statusQuery } from '../../runs/contract.js';
import { can, isRole, type Permission, ROLES } from '../../security/rbac.js';
import { type Role as ApiKeyRole, createApiKey, listApiKeys, revokeApiKey } from '../admin-keys.js';
import type { ApiDeps } from '../deps.js';
import { limitBody } from '../middleware/body-limit.js';
import { readiness } from '../routes/health.js';
import { Page } from './layout.js';
import { type ConsoleSession, csrfMatches, SESSION_COOKIE, SESSION_TTL_MS, SessionStore } from './sessions.js';

const stylesheet = readFileSync(new URL('./console.css', import.meta.url), 'utf8');
/** Form bodies are a key, a token and a reason: small. */
const MAX_FORM_BYTES = 16 * 1024;

type ConsoleEnv = { Variables: { session: ConsoleSession } };

export function consoleRoutes(deps: ApiDeps, sessions = new SessionStore()) {
  const { database, verifyApiKey } = deps;
  const app = new Hono<ConsoleEnv>();
  app.use('/console/*', limitBody(MAX_FORM_BYTES, 'console forms'));

  app.get('/console/console.css', (c) => {
    c.header('Cache-Control', 'public, max-age=300');
    return c.body(stylesheet, 200, { 'Content-Type': 'text/css; charset=utf-8' });
  });

  app.get('/console/login', (c) => c.html(<SignIn />));

  app.post('/console/login', async (c) => {
    const form = await c.req.parseBody();
    const key = typeof form['key'] === 'string' ? form['key'].trim() : '';
    const principal = key ? await verifyApiKey(key) : undefined;
    if (!principal) {
      await appendAudit(database.db, { actor: 'console', action: 'console.sign_in', outcome: 'denied', detail: {} });
      return c.html(<SignIn error="That key was not accepted." />, 401);
    }
    const session = sessions.create(principal);
    setCookie(c, SESSION_COOKIE, session.id, {
      httpOnly: true,
      sameSite: 'Strict',
      secure: new URL(c.req.url).protocol === 'https:',
      path: '/console',
      maxAge: Math.floor(SESSION_TTL_MS / 1000),
    });
    await appendAudit(database.db, { actor: `api:${principal.keyId}`, action: 'console.sign_in', detail: {} });
    return c.redirect('/console', 303);
  });

  // Everything below needs a session; form POSTs also need the session's CSRF token.
  app.use('/console/*', async (c, next) => {
    const session = sessions.get(getCookie(c, SESSION_COOKIE));
    if (!session) {
      if (c.req.method === 'GET') return c.redirect('/console/login', 303);
      return c.html(<SignIn error="Your session has ended; sign in again." />, 401);
    }
    if (c.req.method === 'POST') {
      const form = await c.req.parseBody();
      if (!csrfMatches(session, form['csrf'])) return c.text('The form is stale or forged (CSRF check failed).', 403);
    }
    c.set('session', session);
    await next();
  });
  app.get('/console', (c) => c.redirect('/console/approvals', 303));

  app.post('/console/logout', (c) => {
    sessions.delete(c.get('session').id);
    deleteCookie(c, SESSION_COOKIE, { path: '/console' });
    return c.redirect('/console/login', 303);
  });

  app.get('/console/approvals', async (c) => {
    const session = c.get('session');
    if (!allowed(session, 'jobs:read')) return forbidden(c, session, 'jobs:read');
    const pending = await database.db
      .select()
      .from(jobs)
      .where(and(eq(jobs.kind, 'approval'), eq(jobs.status, 'pending')))
      .orderBy(desc(jobs.createdAt))
      .limit(200);
    const notice = c.req.query('notice');
    const mayDecide = allowed(session, 'runs:decide');
    return c.html(
      <Page title="Approvals" session={session} current="/console/approvals">
        <h1>Approvals inbox</h1>
        {notice ? (
          <p class="notice" role="status">
            {notice}
          </p>
        ) : null}
        {pending.length === 0 ? (
          <p>No sensitive tool call is waiting for a decision.</p>
        ) : (
          <table>
            <caption class="visually-hidden">Pending approvals, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Requested</th>
                <th scope="col">Tool call (the model's arguments)</th>
                <th scope="col">Asked by</th>
                <th scope="col">Run</th>
                <th scope="col">Decision</th>
              </tr>
            </thead>
            <tbody>
              {pending.map((job) => (
                <tr>
                  <td>{job.createdAt.toISOString().replace('T', ' ').slice(0, 19)} UTC</td>
                  <td>
                    <code>{job.summary}</code>
                  </td>
                  <td>
                    {job.ownerId} <small>via {job.channel}</small>
                  </td>
                  <td>
                    <code>{job.workflowId}</code>
                  </td>
                  <td>
                    {mayDecide ? (
                      <form method="post" action={`/console/approvals/${encodeURIComponent(job.id)}`} class="actions">
                        <input type="hidden" name="csrf" value={session.csrf} />
                        <label class="visually-hidden" for={`reason-${job.id}`}>
                          Reason for {job.id}
                        </label>
                        <input id={`reason-${job.id}`} name="reason" placeholder="reason (optional)" maxlength={200} />
                        <button type="submit" name="decision" value="approve" class="primary">
                          Approve
                        </button>
                        <button type="submit" name="decision" value="reject" class="danger">
                          Reject
                        </button>
                      </form>
                    ) : (
                      <small>your role cannot decide</small>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Page>,
    );
  });

  app.get('/console/runs', async (c) => {
    const session = c.get('session');
    if (!allowed(session, 'runs:read')) return forbidden(c, session, 'runs:read');
    const filters = Object.fromEntries(
      RUN_FILTERS.map(({ name }) => [name, (c.req.query(name) ?? '').trim()] as const),
    ) as Record<RunFilterName, string>;
    const invalid = RUN_FILTERS.filter(({ name }) => filters[name] && !FILTER_VALUE.test(filters[name]));
    const query = visibilityQuery(filters);
    const runs = invalid.length > 0 ? [] : await listRuns(deps, query);
    const uiBase = deps.embeddedTemporalUiUrl;
    const namespace = deps.config.temporal.namespace;
    return c.html(
      <Page title="Runs" session={session} current="/console/runs">
        <h1>Runs</h1>
        <form method="get" action="/console/runs" class="filters">
          {RUN_FILTERS.map(({ name, label }) => (
            <span>
              <label for={`filter-${name}`}>{label}</label>
              <input id={`filter-${name}`} name={name} value={filters[name]} size={14} />
            </span>
          ))}
          <button type="submit">Filter</button>
        </form>
        {invalid.length > 0 ? (
          <p class="error" role="alert">
            Filter values are letters, digits and <code>_ : . -</code> only.
          </p>
        ) : null}
        <p>
          <small>
            Visibility query: <code>{query}</code>
          </small>
        </p>
        {runs.length === 0 ? (
          <p>No run matches.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Status</th>
                <th scope="col">Channel</th>
                <th scope="col">Step / outcome</th>
                <th scope="col">Tools</th>
                <th scope="col">Run</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((run) => (
                <tr>
                  <td>{run.startTime.toISOString().replace('T', ' ').slice(0, 19)} UTC</td>
                  <td>{run.status}</td>
                  <td>{run.channel}</td>
                  <td>{[run.step, run.outcome].filter(Boolean).join(' / ')}</td>
                  <td>{run.tools.join(', ')}</td>
                  <td>
                    {uiBase ? (
                      <a
                        href={`${uiBase}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(run.workflowId)}/${run.runId}/history`}
                      >
                        <code>{run.workflowId}</code>
                      </a>
                    ) : (
                      <code>{run.workflowId}</code>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Page>,
    );
  });

  app.get('/console/health', async (c) => {
    const session = c.get('session');
    if (!allowed(session, 'runs:read')) return forbidden(c, session, 'runs:read');
    const { components } = await readiness(deps);
    const labels = { temporal: 'Temporal', database: 'Database', objectStore: 'Object store' } as const;
    return c.html(
      <Page title="Health" session={session} current="/console/health">
        <h1>Health</h1>
        <h2>Readiness (the /readyz checks)</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">Component</th>
              <th scope="col">State</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {(Object.keys(labels) as Array<keyof typeof labels>).map((name) => {
              const result = components[name];
              return (
                <tr>
                  <td>{labels[name]}</td>
                  <td>{result.ok ? 'up' : 'down'}</td>
                  <td>{result.ok ? '' : result.error}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
        <h2>Channels</h2>
        <p>
          Adapters configured in this process: {[...deps.channels.keys()].sort().join(', ') || 'none'}. Stream
          connection state, last delivery and last error are not exposed by the channel layer yet.
        </p>
        <h2>Model providers and alerts</h2>
        <p>
          The llm layer does not expose its last success or failover state to the API yet, and the alert rules' state
          lives in Prometheus/Alertmanager (docs/operations.md); neither is shown here.
        </p>
      </Page>,
    );
  });

  const keysPage = async (c: Context<ConsoleEnv>, created?: { id: string; key: string }, notice?: string) => {
    const session = c.get('session');
    const keys = await listApiKeys(database.db);
    return c.html(
      <Page title="API keys" session={session} current="/console/keys">
        <h1>API keys</h1>
        {created ? (
          <div class="notice" role="status">
            <p>
              Key <code>{created.id}</code> created. Copy it now: it is shown once and never stored in the clear.
            </p>
            <p>
              <label for="new-key">New key</label>
              <input id="new-key" readonly value={created.key} size={60} />
            </p>
          </div>
        ) : null}
        {notice ? (
          <p class="notice" role="status">
            {notice}
          </p>
        ) : null}
        <form method="post" action="/console/keys" class="filters">
          <input type="hidden" name="csrf" value={session.csrf} />
          <span>
            <label for="key-name">Name</label>
            <input id="key-name" name="name" required maxlength={100} />
          </span>
          <span>
            <label for="key-role">Role</label>
            <select id="key-role" name="role">
              {ROLES.map((role) => (
                <option value={role} selected={role === 'viewer'}>
                  {role}
                </option>
              ))}
            </select>
          </span>
          <button type="submit" class="primary">
            Create key
          </button>
        </form>
        <table>
          <thead>
            <tr>
              <th scope="col">Id</th>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Created</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {keys.map((key) => (
              <tr>
                <td>
                  <code>{key.id}</code>
                </td>
                <td>{key.name}</td>
                <td>{key.role}</td>
                <td>{key.createdAt.toISOString().replace('T', ' ').slice(0, 19)} UTC</td>
                <td>
                  {key.revokedAt ? (
                    'revoked'
                  ) : (
                    <form method="post" action={`/console/keys/${encodeURIComponent(key.id)}/revoke`}>
                      <input type="hidden" name="csrf" value={session.csrf} />
                      <button type="submit" class="danger" aria-label={`Revoke ${key.id}`}>
                        Revoke
                      </button>
                    </form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Page>,
    );
  };

  app.get('/console/keys', async (c) => {
    const session = c.get('session');
    if (!allowed(session, 'keys:manage')) return forbidden(c, session, 'keys:manage');
    return keysPage(c, undefined, c.req.query('notice'));
  });

  app.post('/console/keys', async (c) => {
    const session = c.get('session');
    if (!allowed(session, 'keys:manage')) return forbidden(c, session, 'keys:manage');
    const form = await c.req.parseBody();
    const name = typeof form['name'] === 'string' ? form['name'].trim().slice(0, 100) : '';
    const role = typeof form['role'] === 'string' && isRole(form['role']) ? form['role'] : undefined;
    if (!name || !role) return c.text('name and a known role are required', 400);
    const created = await createApiKey(database.db, name, role as ApiKeyRole, `api:${session.principal.keyId}`);
    // Shown in this response only (never in a redirect URL); the page is not cached.
    c.header('Cache-Control', 'no-store');
    return keysPage(c, created);
  });

  app.post('/console/keys/:id/revoke', async (c) => {
    const session = c.get('session');
    if (!allowed(session, 'keys:manage')) return forbidden(c, session, 'keys:manage');
    const id = c.req.param('id');
    const revoked = await revokeApiKey(database.db, id, `api:${session.principal.keyId}`);
    const notice = revoked ? `Revoked ${id}.` : `No active key ${id}.`;
    return c.redirect(`/console/keys?notice=${encodeURIComponent(notice)}`, 303);
  });

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
                <td>{row.at.toISOString().replace('T', ' ').slice(0, 19)} UTC</td>
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
    const verification = deps.auditMonitor ? await deps.auditMonitor.check() : await verifyAuditChain(database.db);
    return auditPage(c, verification);
  });

  app.post('/console/approvals/:jobId', async (c) => {
    const session = c.get('session');
    if (!allowed(session, 'runs:decide')) return forbidden(c, session, 'runs:decide');
    const form = await c.req.parseBody();
    const decision = form['decision'] === 'approve' ? 'approve' : form['decision'] === 'reject' ? 'reject' : undefined;
    if (!decision) return c.text('decision must be approve or reject', 400);
    const reason = typeof form['reason'] === 'string' && form['reason'].trim() ? form['reason'].trim() : undefined;
    const notice = await decideApproval(deps, session, c.req.param('jobId'), decision, reason);
    return c.redirect(`/console/approvals?notice=${encodeURIComponent(notice)}`, 303);
  });

  return app;
}

const RUN_FILTERS = [
  { name: 'channel', label: 'Channel', attribute: 'ConduitChannel' },
  { name: 'outcome', label: 'Outcome', attribute: 'ConduitOutcome' },
  { name: 'step', label: 'Step', attribute: 'ConduitStep' },
  { name: 'tool', label: 'Tool used', attribute: 'ConduitTools' },
] as const;
type RunFilterName = (typeof RUN_FILTERS)[number]['name'];
/** Values go into a visibility query between single quotes: nothing that could close the quote. */
const FILTER_VALUE = /^[A-Za-z0-9_:.-]{1,100}$/;

/** The Temporal visibility query for the filters (search attributes from runs/search-attributes.ts). */
function visibilityQuery(filters: Record<RunFilterName, string>): string {
  const clauses = ["WorkflowType = 'handleMessage'"];
  for (const { name, attribute } of RUN_FILTERS) {
    const value = filters[name];
    if (value && FILTER_VALUE.test(value)) clauses.push(`${attribute} = '${value}'`);
  }
  return clauses.join(' AND ');
}

interface RunRow {
  workflowId: string;
  runId: string;
  status: string;
  startTime: Date;
  channel: string;
  step: string;
  outcome: string;
  tools: string[];
}

/** The 50 newest runs matching the query, read from Temporal's visibility store. */
async function listRuns({ temporal }: Pick<ApiDeps, 'temporal'>, query: string): Promise<RunRow[]> {
  const rows: RunRow[] = [];
  const first = (value: unknown) => (Array.isArray(value) ? String(value[0] ?? '') : '');
  for await (const run of temporal.workflow.list({ query, pageSize: 50 })) {
    const attributes = run.searchAttributes as Record<string, unknown[] | undefined>;
    rows.push({
      workflowId: run.workflowId,
      runId: run.runId,
      status: run.status.name,
      startTime: run.startTime,
      channel: first(attributes['ConduitChannel']),
      step: first(attributes['ConduitStep']),
      outcome: first(attributes['ConduitOutcome']),
      tools: (attributes['ConduitTools'] ?? []).map(String),
    });
    if (rows.length >= 50) break;
  }
  return rows;
}

/**
 * The console's approve/reject, acting as the signed-in principal exactly as POST /v1/runs/:id/{approve,reject}
 * does: the same signal with `by: api:<keyId>`, the same audit row. The person who asked cannot decide on their
 * own request (on the api channel the job's owner is the sending principal).
 */
async function decideApproval(
  { database, temporal }: Pick<ApiDeps, 'database' | 'temporal'>,
  session: ConsoleSession,
  jobId: string,
  decision: 'approve' | 'reject',
  reason: string | undefined,
): Promise<string> {
  const { keyId } = session.principal;
  const [job] = await database.db.select().from(jobs).where(eq(jobs.id, jobId));
  if (job?.kind !== 'approval') return `No approval ${jobId}.`;
  if (job.status !== 'pending') return `Approval ${jobId} is already ${job.status}.`;
  const audit = (outcome: 'success' | 'denied', detail: Record<string, unknown>) =>
    appendAudit(database.db, {
      actor: `api:${keyId}`,
      action: `run.${decision}`,
      target: job.workflowId,
      outcome,
      detail: { jobId, via: 'console', ...detail },
    });
  const handle = temporal.workflow.getHandle(job.workflowId);
  try {
    // The run names the principal that asked (pendingApproval.requestedBy); the run ignores that principal's
    // decision too, so this check only tells the person why nothing happens.
    const status = await handle.query(statusQuery).catch((error: unknown) => {
      if (error instanceof WorkflowNotFoundError) throw error;
      return undefined;
    });
    if (job.ownerId === keyId || status?.pendingApproval?.requestedBy === keyId) {
      await audit('denied', { refused: 'requester' });
      return `You requested ${jobId}; a second person has to ${decision} it.`;
    }
    await handle.signal(decision === 'approve' ? approveSignal : rejectSignal, {
      by: `api:${keyId}`,
      reason,
      principal: keyId,
    });
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return `The run behind ${jobId} has already finished.`;
    throw error;
  }
  await audit('success', { reason: reason?.slice(0, 200) });
  return `${decision === 'approve' ? 'Approved' : 'Rejected'} ${jobId}.`;
}

function allowed(session: ConsoleSession, permission: Permission): boolean {
  const { principal } = session;
  return can(principal.roles ?? [principal.role], permission);
}

function forbidden(c: Context<ConsoleEnv>, session: ConsoleSession, permission: Permission) {
  return c.html(
    <Page title="Not allowed" session={session}>
      <h1>Not allowed</h1>
      <p class="error">
        Your role ({session.principal.role}) lacks the <code>{permission}</code> permission for this screen.
      </p>
    </Page>,
    403,
  );
}

function SignIn(props: { error?: string }) {
  return (
    <Page title="Sign in">
      <div class="signin">
        <h1>Sign in</h1>
        {props.error ? (
          <p class="error" role="alert">
            {props.error}
          </p>
        ) : null}
        <form method="post" action="/console/login">
          <label for="key">API key</label>
          <input id="key" name="key" type="password" autocomplete="off" required size={40} />
          <p>
            <button type="submit" class="primary">
              Sign in
            </button>
          </p>
        </form>
        <p>
          <small>The key is checked once; the browser keeps only a session cookie.</small>
        </p>
      </div>
    </Page>
  );
}
