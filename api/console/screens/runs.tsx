/** @jsxImportSource hono/jsx */
// The runs screen: the newest handleMessage runs from Temporal's visibility store, filtered by the search
// attributes the workflow sets (runs/search-attributes.ts), each linking to its page in the Temporal UI and, for
// a role that may read transcripts, to its conversation (conversation.tsx).
import { Hono } from 'hono';
import type { ApiDeps } from '../../deps.js';
import { Page } from '../layout.js';
import { RunLink } from '../run-link.js';
import { allowed, type ConsoleEnv, forbidden, utc } from '../screen.js';
import { temporalUiLinks } from '../temporal-ui.js';
import { conversationPath, TRANSCRIPT_PERMISSION } from './conversation.js';

export function runsScreen(deps: Pick<ApiDeps, 'temporal' | 'config' | 'embeddedTemporalUiUrl'>) {
  const app = new Hono<ConsoleEnv>();
  const uiLink = temporalUiLinks(deps);

  app.get('/console/runs', async (c) => {
    const session = c.get('session');
    if (!allowed(session, 'runs:read')) return forbidden(c, session, 'runs:read');
    const filters = Object.fromEntries(
      RUN_FILTERS.map(({ name }) => [name, (c.req.query(name) ?? '').trim()] as const),
    ) as Record<RunFilterName, string>;
    const invalid = RUN_FILTERS.filter(({ name }) => filters[name] && !FILTER_VALUE.test(filters[name]));
    const query = visibilityQuery(filters);
    const runs = invalid.length > 0 ? [] : await listRuns(deps, query);
    const mayReadTranscripts = allowed(session, TRANSCRIPT_PERMISSION);
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
                {mayReadTranscripts ? <th scope="col">Conversation</th> : null}
              </tr>
            </thead>
            <tbody>
              {runs.map((run) => (
                <tr>
                  <td>{utc(run.startTime)}</td>
                  <td>{run.status}</td>
                  <td>{run.channel}</td>
                  <td>{[run.step, run.outcome].filter(Boolean).join(' / ')}</td>
                  <td>{run.tools.join(', ')}</td>
                  <td>
                    <RunLink workflowId={run.workflowId} href={uiLink(run.workflowId, run.runId)} />
                  </td>
                  {mayReadTranscripts ? (
                    <td>
                      <a href={conversationPath(run.workflowId)} aria-label={`Transcript of ${run.workflowId}`}>
                        Transcript
                      </a>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Page>,
    );
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
