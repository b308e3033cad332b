import type { AccountSession } from '../account.service.js';
import { html, type SafeHtml } from './html.js';
import { timeTag } from './time.js';
import { plural } from '../plural.js';

/** Everything the account page shows; the page is a function of it. */
export interface AccountView {
  now: Date;
  /** The session's CSRF token, in every form's `_csrf` field. */
  csrfToken: string;
  user: SignedInUser | null;
  /** A one-time notice ("Signed out 2 other sessions"). */
  notice?: string;
  /** An error from the server, shown by the form it concerns. */
  error?: { form: 'login' | 'reauthenticate' | 'page'; message: string };
  /** The username to keep in the sign-in form after a failed try (never the password). */
  username?: string;
  /** Show the "confirm your password" panel (a `@FreshSession` route said `reauthenticate`). */
  reauthenticate?: boolean;
}

export interface SignedInUser {
  name: string;
  roles: string[];
  signedInAt: Date | null;
  sessions: AccountSession[];
  admin: AdminView | null;
}

export interface AdminView {
  /** "5 minutes": how recent a login the admin action needs. */
  freshFor: string;
  users: { userId: string; sessions: number }[];
}

const DESKTOP_ICON = html`<svg class="device-icon" viewBox="0 0 24 24" aria-hidden="true">
  <rect x="2.5" y="4" width="19" height="12" rx="1.5" />
  <path d="M8 20h8M12 16v4" />
</svg>`;

const PHONE_ICON = html`<svg class="device-icon" viewBox="0 0 24 24" aria-hidden="true">
  <rect x="6.5" y="2.5" width="11" height="19" rx="2" />
  <path d="M10.5 18.5h3" />
</svg>`;

/** A POST form that works without JavaScript (`action`) and with it (`data-api`, JSON). */
function form(
  view: AccountView,
  action: string,
  api: string,
  content: SafeHtml,
  attributes: { id?: string; class?: string } = {},
): SafeHtml {
  const id = attributes.id !== undefined && html`id="${attributes.id}"`;
  return html`<form
    method="post"
    action="${action}"
    data-api="${api}"
    class="${attributes.class ?? ''}"
    ${id}
  >
    <input type="hidden" name="_csrf" value="${view.csrfToken}" />${content}
  </form>`;
}

function errorFor(view: AccountView, name: 'login' | 'reauthenticate' | 'page'): SafeHtml {
  const message = view.error?.form === name ? view.error.message : '';
  return html`<p class="error" role="alert" data-error>${message}</p>`;
}

function header(view: AccountView): SafeHtml {
  return html`<header class="bar">
    <a class="brand" href="/"><span class="logo" aria-hidden="true"></span>nest-secure-session</a>
    ${
      view.user !== null &&
      form(
        view,
        '/account/logout',
        'POST /auth/logout',
        html`<span class="muted">${view.user.name}</span>
          <button id="logout" class="button secondary small">Sign out</button>`,
        { id: 'logout-form', class: 'inline' },
      )
    }
  </header>`;
}

function signIn(view: AccountView): SafeHtml {
  return html`<section class="card narrow" aria-labelledby="sign-in-title">
    <h1 id="sign-in-title">Sign in</h1>
    ${form(
      view,
      '/account/login',
      'POST /auth/login',
      html`<label
          >Username
          <input
            id="username"
            name="username"
            autocomplete="username"
            required
            value="${view.username ?? ''}"
        /></label>
        <label
          >Password
          <input
            id="password"
            name="password"
            type="password"
            autocomplete="current-password"
            required
        /></label>
        ${errorFor(view, 'login')}
        <button id="login" class="button primary">Sign in</button>`,
      { id: 'login-form' },
    )}
    <p class="hint">
      Demo accounts: <code>alice</code> / <code>alice-password</code>, <code>admin</code> /
      <code>admin-password</code>
    </p>
  </section>`;
}

function profile(view: AccountView, user: SignedInUser): SafeHtml {
  return html`<section class="card profile" aria-label="Who am I">
    <div class="avatar" aria-hidden="true">${user.name.slice(0, 1).toUpperCase()}</div>
    <div>
      <h1 id="whoami">${user.name}</h1>
      <p class="muted">
        <span id="roles">${user.roles.map((role) => html`<span class="role">${role}</span>`)}</span>
        ${user.signedInAt !== null && html`· signed in ${timeTag(user.signedInAt, view.now)}`}
      </p>
    </div>
  </section>`;
}

function sessionRow(view: AccountView, session: AccountSession): SafeHtml {
  const action = session.current
    ? html`<span class="badge">This device</span>`
    : form(
        view,
        `/account/sessions/${encodeURIComponent(session.id)}/revoke`,
        `DELETE /auth/sessions/${encodeURIComponent(session.id)}`,
        html`<button class="button danger small">Revoke</button>`,
        { class: 'inline revoke' },
      );
  return html`<li class="session${session.current ? ' current' : ''}" data-session="${session.id}">
    ${session.mobile ? PHONE_ICON : DESKTOP_ICON}
    <div class="session-text">
      <div class="device" title="${session.userAgent ?? 'no user agent'}">${session.device}</div>
      <div class="muted small">
        Signed in ${timeTag(session.createdAt, view.now)} · last seen
        ${timeTag(session.lastSeenAt, view.now)}
      </div>
    </div>
    ${action}
  </li>`;
}

function sessions(view: AccountView, user: SignedInUser): SafeHtml {
  const others = user.sessions.filter((session) => !session.current).length;
  return html`<section class="card" aria-labelledby="sessions-title">
    <h2 id="sessions-title">Your active sessions</h2>
    <ul class="sessions" id="session-list">
      ${user.sessions.map((session) => sessionRow(view, session))}
    </ul>
    ${
      others > 0
        ? form(
            view,
            '/account/sign-out-others',
            'POST /auth/logout-others',
            html`<button id="sign-out-others" class="button secondary">
              Sign out everywhere else
            </button>`,
            { class: 'actions' },
          )
        : html`<p class="muted small">No other sessions: you are signed in on this device only.</p>`
    }
  </section>`;
}

/** The "confirm your password" form; `cancel` closes the dialog or leaves the panel. */
function reauthenticateForm(view: AccountView, cancel: SafeHtml): SafeHtml {
  return form(
    view,
    '/account/reauthenticate',
    'POST /auth/reauthenticate',
    html`<label
        >Password <input name="password" type="password" autocomplete="current-password" required
      /></label>
      ${errorFor(view, 'reauthenticate')}
      <div class="actions"><button class="button primary">Confirm</button>${cancel}</div>`,
    { class: 'reauthenticate' },
  );
}

function admin(view: AccountView, adminView: AdminView): SafeHtml {
  const confirm = html`<h3>Confirm it’s you</h3>
    <p class="muted">
      This action needs a sign-in from the last ${adminView.freshFor}. Enter your password to
      continue (a new sign-in: this device gets a new session).
    </p>`;
  return html`<section class="card" aria-labelledby="admin-title">
    <h2 id="admin-title">Admin</h2>
    <p class="muted">
      Sign a user out of every session. A sensitive action: it asks for your password again when you
      signed in more than ${adminView.freshFor} ago.
    </p>
    <ul class="users">
      ${adminView.users.map(
        (user) =>
          html`<li>
            <span
              ><strong>${user.userId}</strong>
              <span class="muted small">${plural(user.sessions, 'active session')}</span></span
            >
            ${form(
              view,
              `/account/admin/users/${encodeURIComponent(user.userId)}/sign-out`,
              `POST /admin/users/${encodeURIComponent(user.userId)}/sign-out`,
              html`<button class="button danger small" data-sign-out-user="${user.userId}">
                Sign ${user.userId} out everywhere
              </button>`,
              { class: 'inline' },
            )}
          </li>`,
      )}
    </ul>
    ${
      view.reauthenticate &&
      html`<div class="reauthenticate-panel" id="reauthenticate">
        ${confirm}${reauthenticateForm(view, html`<a class="button secondary" href="/">Cancel</a>`)}
      </div>`
    }
    <dialog id="reauthenticate-dialog">
      ${confirm}
      ${reauthenticateForm(
        view,
        html`<button class="button secondary" formmethod="dialog" formnovalidate>Cancel</button>`,
      )}
    </dialog>
  </section>`;
}

function signedIn(view: AccountView, user: SignedInUser): SafeHtml {
  return html`${profile(view, user)}${sessions(view, user)}${
    user.admin !== null && admin(view, user.admin)
  }`;
}

/** The whole page: the same markup with and without JavaScript. */
export function accountPage(view: AccountView): string {
  const title = view.user === null ? 'Sign in' : `${view.user.name} · your account`;
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · nest-secure-session sample</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href="/assets/page.css" />
        <script type="module" src="/assets/page.js"></script>
      </head>
      <body>
        <div id="app" data-csrf="${view.csrfToken}">
          ${header(view)}
          <main>
            <p id="notice" class="notice" role="status">${view.notice}</p>
            ${errorFor(view, 'page')}
            ${view.user === null ? signIn(view) : signedIn(view, view.user)}
          </main>
        </div>
      </body>
    </html>`.toString();
}
