/** @jsxImportSource hono/jsx */
// The conversation view: a run's conversation as Conduit remembers it (conversations/read-transcript.ts), the
// running summary and every message both ways, as stored. No /v1 route reads a transcript but the privacy export,
// so this screen needs what that route needs (privacy:manage) and, like it, writes an audit row per read; texts
// show as the export shows them: as stored, with placeholders where TRANSCRIPT_ANONYMISE replaced personal data.
import { Hono } from 'hono';
import { appendAudit } from '../../../audit/chain.js';
import { conversationOfRun, readTranscript } from '../../../conversations/read-transcript.js';
import type { ApiDeps } from '../../deps.js';
import { Page } from '../layout.js';
import { RunLink } from '../run-link.js';
import { allowed, type ConsoleEnv, forbidden, utc } from '../screen.js';
import { temporalUiLinks } from '../temporal-ui.js';

/** Who may read transcripts: the permission of GET /v1/privacy/users/…/export. */
export const TRANSCRIPT_PERMISSION = 'privacy:manage';

export const conversationPath = (workflowId: string) => `/console/conversation?run=${encodeURIComponent(workflowId)}`;

export function conversationScreen(deps: Pick<ApiDeps, 'database' | 'config' | 'embeddedTemporalUiUrl'>) {
  const db = deps.database.db;
  const app = new Hono<ConsoleEnv>();
  const uiLink = temporalUiLinks(deps);

  app.get('/console/conversation', async (c) => {
    const session = c.get('session');
    if (!allowed(session, TRANSCRIPT_PERMISSION)) return forbidden(c, session, TRANSCRIPT_PERMISSION);
    const workflowId = c.req.query('run') ?? '';
    const conversationId = workflowId ? await conversationOfRun(db, workflowId) : undefined;
    const transcript = conversationId ? await readTranscript(db, conversationId) : undefined;
    if (!transcript) {
      return c.html(
        <Page title="Conversation" session={session} current="/console/runs">
          <h1>Conversation</h1>
          <p class="error" role="alert">
            No transcript is recorded for run <code>{workflowId}</code> (it was refused before its message was recorded,
            it was purged, or there is no such run).
          </p>
          <p>
            <a href="/console/runs">Back to the runs</a>
          </p>
        </Page>,
        404,
      );
    }
    await appendAudit(db, {
      actor: `api:${session.principal.keyId}`,
      action: 'conversation.read',
      target: transcript.conversation.id,
      detail: { workflowId, messages: transcript.messages.length, via: 'console' },
    });
    const { conversation, summary } = transcript;
    const coversUntil = summary ? new Date(summary.coversUntil) : undefined;
    c.header('Cache-Control', 'no-store');
    return c.html(
      <Page title="Conversation" session={session} current="/console/runs">
        <h1>Conversation</h1>
        <dl class="facts">
          <dt>Conversation</dt>
          <dd>
            <code>{conversation.id}</code> ({conversation.type})
          </dd>
          <dt>Opened from run</dt>
          <dd>
            <RunLink workflowId={workflowId} href={uiLink(workflowId)} />
          </dd>
          <dt>Last message</dt>
          <dd>{utc(conversation.lastMessageAt)}</dd>
        </dl>
        <p>
          <small>
            Texts as stored: with <code>TRANSCRIPT_ANONYMISE</code> on, personal data shows as placeholders such as{' '}
            <code>[PHONE_1]</code>.{deps.config.privacy.anonymiseTranscripts ? ' It is on.' : ' It is off.'}
          </small>
        </p>
        <h2>Summary</h2>
        {summary ? (
          <>
            <p>
              <small>The model's running summary of the messages up to {utc(new Date(summary.coversUntil))}:</small>
            </p>
            <blockquote class="summary">{summary.text}</blockquote>
          </>
        ) : (
          <p>No summary yet: the conversation has not outgrown the model's window.</p>
        )}
        <h2>Messages</h2>
        {transcript.omitted > 0 ? (
          <p>
            <small>{transcript.omitted} older messages are not shown.</small>
          </p>
        ) : null}
        <table>
          <caption class="visually-hidden">Messages, oldest first</caption>
          <thead>
            <tr>
              <th scope="col">At</th>
              <th scope="col">From</th>
              <th scope="col">Text</th>
              <th scope="col">Run</th>
            </tr>
          </thead>
          <tbody>
            {transcript.messages.map((message) => (
              <tr class={message.workflowId === workflowId ? 'current' : undefined}>
                <td>
                  {utc(message.at)}
                  {coversUntil && message.at <= coversUntil ? (
                    <>
                      <br />
                      <small>in the summary</small>
                    </>
                  ) : null}
                </td>
                <td>
                  {message.direction === 'out' ? 'Conduit' : (message.senderName ?? message.senderId)}
                  {message.direction === 'in' && message.senderName ? <small> ({message.senderId})</small> : null}
                </td>
                <td>
                  <pre>{message.text}</pre>
                </td>
                <td>
                  <RunLink workflowId={message.workflowId} href={uiLink(message.workflowId)} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Page>,
    );
  });

  return app;
}
