// Sign-in: a tenant API key, checked and then kept in an HttpOnly cookie (never in the page or the URL).
import { Page } from "../layout";

export function LoginPage(props: { error?: string; notice?: string }) {
  return (
    <Page title="Sign in">
      <form class="login" method="post" action="/dashboard/login">
        <h1>Edge Jobs</h1>
        {props.error ? (
          <p class="flash flash-error" role="alert">
            {props.error}
          </p>
        ) : null}
        {props.notice ? (
          <p class="flash flash-ok" role="status">
            {props.notice}
          </p>
        ) : null}
        <label>
          API key
          <input type="password" name="key" autocomplete="current-password" required autofocus />
        </label>
        <button type="submit" class="primary">
          Sign in
        </button>
        <p class="muted">Use a tenant key (from POST /v1/keys). The admin token has no tenant to show.</p>
      </form>
    </Page>
  );
}
