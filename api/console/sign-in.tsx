/** @jsxImportSource hono/jsx */
// The sign-in page: an API key, checked once (app.tsx), or, when OIDC_CONSOLE_CLIENT_ID is set, the identity
// provider (oidc.ts); either way the browser keeps only the session cookie.
import { Page } from './layout.js';

/** `provider`: the issuer's host, when the console may sign in with it. */
export function SignIn(props: { error?: string; provider?: string }) {
  return (
    <Page title="Sign in">
      <div class="signin">
        <h1>Sign in</h1>
        {props.error ? (
          <p class="error" role="alert">
            {props.error}
          </p>
        ) : null}
        {props.provider ? (
          <p>
            <a class="provider" href="/console/oidc/start">
              Sign in with {props.provider}
            </a>
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

/** After the provider's callback: this page's own navigation carries the new SameSite=Strict session cookie. */
export function SignedIn() {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta http-equiv="refresh" content="0;url=/console" />
        <title>Signed in · Conduit console</title>
      </head>
      <body>
        <main>
          <p>
            Signed in. <a href="/console">Continue to the console</a>.
          </p>
        </main>
      </body>
    </html>
  );
}
