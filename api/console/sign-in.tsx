/** @jsxImportSource hono/jsx */
// The sign-in page: an API key, checked once (app.tsx); the browser keeps only the session cookie.
import { Page } from './layout.js';

export function SignIn(props: { error?: string }) {
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
