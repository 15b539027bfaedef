/** @jsxImportSource hono/jsx */
// The console's page frame: navigation, who is signed in, a sign-out form (with its CSRF token), and the one
// stylesheet. Server-rendered; pages add little or no client code.
import type { Child } from 'hono/jsx';
import type { ConsoleSession } from './sessions.js';

export const SCREENS = [
  { path: '/console/approvals', label: 'Approvals' },
  { path: '/console/playground', label: 'Playground' },
  { path: '/console/runs', label: 'Runs' },
  { path: '/console/health', label: 'Health' },
  { path: '/console/keys', label: 'Keys' },
  { path: '/console/audit', label: 'Audit' },
] as const;

export function Page(props: { title: string; session?: ConsoleSession; current?: string; children?: Child }) {
  const { title, session, current, children } = props;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · Conduit console`}</title>
        <link rel="stylesheet" href="/console/console.css" />
      </head>
      <body>
        <header>
          <strong>Conduit console</strong>
          {session ? (
            <nav aria-label="Console screens">
              <ul>
                {SCREENS.map((screen) => (
                  <li>
                    <a href={screen.path} aria-current={screen.path === current ? 'page' : undefined}>
                      {screen.label}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
          ) : null}
          {session ? (
            <span class="who">
              {session.principal.keyId} ({session.principal.role}){' '}
              <form method="post" action="/console/logout">
                <input type="hidden" name="csrf" value={session.csrf} />
                <button type="submit">Sign out</button>
              </form>
            </span>
          ) : null}
        </header>
        <main>{children}</main>
      </body>
    </html>
  );
}
