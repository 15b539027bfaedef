/** @jsxImportSource hono/jsx */
// The chat playground: send a message on the `api` channel as the signed-in principal, through the same door as
// POST /v1/messages (api/api-channel-message.ts: the sender is bound to the credential), then watch the run's
// events arrive live. The page follows the run with a server-sent-events stream under /console, read from the
// run-event log like the WebSocket and gRPC feeds (runs/run-event-feed.ts); it needs the console session and
// serves only runs the session's own principal started here, so no bearer token ever reaches the browser.
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ConduitError, UnavailableError } from '../../../core/errors.js';
import { messageInputSchema } from '../../../core/message-input.js';
import { isRunOpen } from '../../../runs/is-run-open.js';
import { followRunEvents } from '../../../runs/run-event-feed.js';
import { runOwner } from '../../../runs/run-event-log.js';
import { sendApiMessage } from '../../api-channel-message.js';
import type { ApiDeps } from '../../deps.js';
import { Page } from '../layout.js';
import { RunLink } from '../run-link.js';
import { allowed, type ConsoleEnv, forbidden } from '../screen.js';
import type { ConsoleSession } from '../sessions.js';
import { temporalUiLinks } from '../temporal-ui.js';
import { conversationPath, TRANSCRIPT_PERMISSION } from './conversation.js';

/** A followed run is let go after this long (a run parked on an approval may wait for days); reload to go on. */
const MAX_FOLLOW_MS = 10 * 60_000;
/** A comment line this often keeps proxies from closing a quiet stream. */
const KEEPALIVE_MS = 15_000;
/** Frames written but not yet taken by the connection before the feed holds back (the events wait in the log). */
const MAX_PENDING_WRITES = 64;

export function playgroundScreen(deps: ApiDeps) {
  const db = deps.database.db;
  const app = new Hono<ConsoleEnv>();
  const uiLink = temporalUiLinks(deps);
  const now = deps.now ?? (() => new Date());

  const page = (
    session: ConsoleSession,
    view: { conversation: string; run?: string; error?: string; text?: string },
  ) => (
    <Page title="Playground" session={session} current="/console/playground">
      <h1>Chat playground</h1>
      <p>
        Messages go to the <code>api</code> channel as you ({session.principal.keyId}), exactly as{' '}
        <code>POST /v1/messages</code> with your key would send them.
      </p>
      {view.error ? (
        <p class="error" role="alert">
          {view.error}
        </p>
      ) : null}
      <form method="post" action="/console/playground">
        <input type="hidden" name="csrf" value={session.csrf} />
        <label for="conversation">Conversation</label>
        <input id="conversation" name="conversation_id" value={view.conversation} required maxlength={128} />
        <label for="text">Message</label>
        <textarea id="text" name="text" required rows={3} cols={80} maxlength={32000}>
          {view.text ?? ''}
        </textarea>
        <p>
          <button type="submit" class="primary">
            Send
          </button>
        </p>
      </form>
      {view.run ? (
        <section aria-labelledby="run-heading">
          <h2 id="run-heading">Run</h2>
          <p>
            <RunLink workflowId={view.run} href={uiLink(view.run)} />
            {uiLink(view.run) ? <small> (opens the Temporal UI)</small> : null}
            {allowed(session, TRANSCRIPT_PERMISSION) ? (
              <>
                {' · '}
                <a href={conversationPath(view.run)}>Transcript</a>
              </>
            ) : null}
          </p>
          <p id="feed-status" role="status">
            Waiting for the run's events…
          </p>
          <ol id="events" class="events" data-feed={`/console/playground/events?run=${encodeURIComponent(view.run)}`} />
          <noscript>
            <p>Live events need JavaScript; the Temporal UI link shows the run's history.</p>
          </noscript>
          {/* A constant script: the run's address comes from the data-feed attribute, never from the markup. */}
          <script dangerouslySetInnerHTML={{ __html: FEED_SCRIPT }} />
        </section>
      ) : null}
    </Page>
  );

  app.get('/console/playground', async (c) => {
    const session = c.get('session');
    if (!allowed(session, 'messages:send')) return forbidden(c, session, 'messages:send');
    const run = c.req.query('run');
    const conversation = c.req.query('conversation') || 'console-playground';
    if (run && (await runOwner(db, run)) !== session.principal.keyId) {
      return c.html(page(session, { conversation, error: `No run ${run} of yours to follow.` }), 404);
    }
    return c.html(page(session, { conversation, run }));
  });

  app.post('/console/playground', async (c) => {
    const session = c.get('session');
    if (!allowed(session, 'messages:send')) return forbidden(c, session, 'messages:send');
    const form = await c.req.parseBody();
    const field = (name: string) => (typeof form[name] === 'string' ? (form[name] as string) : '');
    const conversation = field('conversation_id').trim();
    const parsed = messageInputSchema.safeParse({ conversation_id: conversation, text: field('text') });
    if (!parsed.success) {
      const error = `Not sent: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`;
      return c.html(page(session, { conversation, text: field('text'), error }), 400);
    }
    try {
      const accepted = await sendApiMessage(deps, session.principal, parsed.data, {
        now: now(),
        owner: session.principal.keyId,
      });
      const query = new URLSearchParams({ run: accepted.workflowId, conversation });
      return c.redirect(`/console/playground?${query}`, 303);
    } catch (error) {
      if (!(error instanceof ConduitError)) throw error;
      // The door's refusal, with its status: 400 for text it cannot take, 503 (with Retry-After) while it cannot start runs.
      if (error instanceof UnavailableError && error.retryAfterSeconds)
        c.header('Retry-After', String(error.retryAfterSeconds));
      const view = { conversation, text: field('text'), error: `Not sent: ${error.message}` };
      return c.html(page(session, view), error.httpStatus as ContentfulStatusCode);
    }
  });

  app.get('/console/playground/events', async (c) => {
    const session = c.get('session');
    if (!allowed(session, 'runs:read')) return forbidden(c, session, 'runs:read');
    const workflowId = c.req.query('run') ?? '';
    // One answer for "no such run" and "not yours": run ids are not an oracle for other people's runs.
    if (!workflowId || (await runOwner(db, workflowId)) !== session.principal.keyId) {
      return c.text('No run of yours to follow.', 404);
    }
    const lastEventId = Number(c.req.header('Last-Event-ID') ?? 0);
    const after = Number.isSafeInteger(lastEventId) && lastEventId > 0 ? lastEventId : 0;
    c.header('X-Accel-Buffering', 'no');
    return streamSSE(c, async (stream) => {
      let pending = 0;
      let finish: () => void = () => undefined;
      const finished = new Promise<void>((resolve) => {
        finish = resolve;
      });
      // One write at a time, in order; the stream closes only once the last one is out.
      let written = Promise.resolve();
      const write = (message: { event?: string; data: string; id?: string }) => {
        pending += 1;
        written = written
          .then(() => stream.writeSSE(message))
          .catch(() => finish())
          .finally(() => {
            pending -= 1;
          });
      };
      const follower = followRunEvents(db, {
        onEvent: (event) => write({ id: String(event.id), data: JSON.stringify(event) }),
        onRunEnd: (_id, reason) => {
          write({ event: 'end', data: reason });
          finish();
        },
        isRunOpen: (id) => isRunOpen(deps.temporal, id),
        onError: (error) => deps.logger.warn({ err: error, workflowId }, 'reading run events failed; retrying'),
        canDeliver: () => pending < MAX_PENDING_WRITES,
      });
      const keepalive = setInterval(() => {
        written = written
          .then(() => stream.write(': keepalive\n\n'))
          .then(
            () => undefined,
            () => finish(),
          );
      }, KEEPALIVE_MS);
      const limit = setTimeout(() => {
        write({ event: 'end', data: 'time limit' });
        finish();
      }, MAX_FOLLOW_MS);
      stream.onAbort(() => finish());
      follower.follow(workflowId, after);
      try {
        await finished;
      } finally {
        follower.close();
        clearInterval(keepalive);
        clearTimeout(limit);
      }
      await written;
    });
  });

  return app;
}

/** Opens the page's event feed and lists each event as it arrives; closes when the server says the run ended. */
const FEED_SCRIPT = `(() => {
  const list = document.getElementById('events');
  const status = document.getElementById('feed-status');
  const describe = (event) => {
    const data = event.data || {};
    switch (event.type) {
      case 'accepted': return 'in conversation ' + data.conversationId + ' from ' + data.senderId;
      case 'step': return data.step;
      case 'intent': return data.intent + ' (' + data.confidence + ')';
      case 'tool': return data.tool + (data.ok ? ' ok' : ' failed');
      case 'progress': return data.text;
      case 'refused': return data.reason;
      case 'reply': return data.text;
      default: return JSON.stringify(data);
    }
  };
  const source = new EventSource(list.dataset.feed);
  source.onopen = () => { status.textContent = 'Following the run live.'; };
  source.onmessage = (message) => {
    const event = JSON.parse(message.data);
    const item = document.createElement('li');
    const type = document.createElement('strong');
    type.textContent = event.type;
    const time = document.createElement('small');
    time.textContent = ' ' + event.at.slice(11, 23) + ' ';
    item.append(type, time, document.createTextNode(describe(event)));
    item.className = 'event-' + event.type;
    list.append(item);
  };
  source.addEventListener('end', (message) => {
    source.close();
    status.textContent = message.data === 'replied' ? 'The run replied.' : 'No longer following the run (' + message.data + ').';
  });
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) status.textContent = 'The event feed was refused; reload the page.';
    else status.textContent = 'Connection lost; reconnecting…';
  };
})();`;
