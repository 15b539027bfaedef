/** @jsxImportSource hono/jsx */
// The approvals inbox: pending sensitive tool calls with the model's arguments and who asked, and approve/reject
// as the signed-in principal through the same decision as POST /v1/runs/:id/{approve,reject} (jobs/decide-run.ts).
import { and, desc, eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { jobs } from '../../../db/schema.js';
import { type ApprovalJobOutcome, decideApprovalJob } from '../../../jobs/decide-run.js';
import type { ApiDeps } from '../../deps.js';
import { Page } from '../layout.js';
import { RunLink } from '../run-link.js';
import { allowed, type ConsoleEnv, forbidden, utc } from '../screen.js';
import { temporalUiLinks } from '../temporal-ui.js';

export function approvalsScreen(deps: Pick<ApiDeps, 'database' | 'temporal' | 'config' | 'embeddedTemporalUiUrl'>) {
  const { database, temporal } = deps;
  const app = new Hono<ConsoleEnv>();
  const uiLink = temporalUiLinks(deps);

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
                  <td>{utc(job.createdAt)}</td>
                  <td>
                    <code>{job.summary}</code>
                  </td>
                  <td>
                    {job.ownerId} <small>via {job.channel}</small>
                  </td>
                  <td>
                    <RunLink workflowId={job.workflowId} href={uiLink(job.workflowId)} />
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

  app.post('/console/approvals/:jobId', async (c) => {
    const session = c.get('session');
    if (!allowed(session, 'runs:decide')) return forbidden(c, session, 'runs:decide');
    const form = await c.req.parseBody();
    const decision = form['decision'] === 'approve' ? 'approve' : form['decision'] === 'reject' ? 'reject' : undefined;
    if (!decision) return c.text('decision must be approve or reject', 400);
    const reason = typeof form['reason'] === 'string' && form['reason'].trim() ? form['reason'].trim() : undefined;
    const jobId = c.req.param('jobId');
    const { outcome, status } = await decideApprovalJob(
      { db: database.db, temporal },
      { jobId, decision, principal: session.principal.keyId, reason, via: 'console' },
    );
    const notice = noticeFor(outcome, jobId, decision, status);
    return c.redirect(`/console/approvals?notice=${encodeURIComponent(notice)}`, 303);
  });

  return app;
}

function noticeFor(outcome: ApprovalJobOutcome, jobId: string, decision: 'approve' | 'reject', status?: string) {
  switch (outcome) {
    case 'no_such_approval':
      return `No approval ${jobId}.`;
    case 'not_pending':
      return `Approval ${jobId} is already ${status}.`;
    case 'requester':
      return `You requested ${jobId}; a second person has to ${decision} it.`;
    case 'finished':
      return `The run behind ${jobId} has already finished.`;
    case 'decided':
      return `${decision === 'approve' ? 'Approved' : 'Rejected'} ${jobId}.`;
  }
}
