/** @jsxImportSource hono/jsx */
// The keys screen: list, create (the key shown once, in that response only) and revoke API keys, with the same
// functions as /v1/keys; the actor is the signed-in principal.
import type { Context } from 'hono';
import { Hono } from 'hono';
import { isRole, ROLES } from '../../../security/rbac.js';
import { type Role as ApiKeyRole, createApiKey, listApiKeys, revokeApiKey } from '../../admin-keys.js';
import type { ApiDeps } from '../../deps.js';
import { Page } from '../layout.js';
import { allowed, type ConsoleEnv, forbidden, utc } from '../screen.js';

export function keysScreen({ database }: Pick<ApiDeps, 'database'>) {
  const app = new Hono<ConsoleEnv>();

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
                <td>{utc(key.createdAt)}</td>
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

  return app;
}
