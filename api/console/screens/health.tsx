/** @jsxImportSource hono/jsx */
// The health screen: the /readyz checks, the channel adapters of this process, and what is not exposed yet.
import { Hono } from 'hono';
import type { ApiDeps } from '../../deps.js';
import { readiness } from '../../routes/health.js';
import { Page } from '../layout.js';
import { allowed, type ConsoleEnv, forbidden } from '../screen.js';

export function healthScreen(deps: ApiDeps) {
  const app = new Hono<ConsoleEnv>();

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

  return app;
}
