// What a well-behaved client of the sample does: log in (cookie or bearer), fetch the CSRF
// token, log out. Used to make the valid credentials the fuzzer mutates and to drive the soak.
import { Client, sessionCookieOf } from './raw-http.js';

export const COOKIE_NAME = '__Host-sid';

export const USERS = {
  alice: { username: 'alice', password: 'alice-password', id: '1' },
  admin: { username: 'admin', password: 'admin-password', id: '2' },
};

export class SampleClient extends Client {
  constructor(port, options) {
    super(port, options);
    this.origin = `http://127.0.0.1:${port}`;
  }

  /** Logs in with a cookie; resolves `{ response, cookie }` (`cookie` is `name=value`). */
  async login(user, { cookie, headers } = {}) {
    const response = await this.request('POST', '/auth/login', {
      json: { username: user.username, password: user.password },
      cookie,
      headers,
    });
    return { response, cookie: sessionCookieOf(response, COOKIE_NAME) };
  }

  /** A bearer token from `POST /auth/token`; resolves `{ response, token }`. */
  async token(user, { headers } = {}) {
    const response = await this.request('POST', '/auth/token', {
      json: { username: user.username, password: user.password },
      headers,
    });
    return { response, token: response.status === 200 ? response.json()?.token : undefined };
  }

  /** The CSRF token of the session `cookie` opens; resolves `{ response, csrfToken }`. */
  async csrf(cookie) {
    const response = await this.request('GET', '/auth/csrf', { cookie });
    return { response, csrfToken: response.json()?.csrfToken };
  }

  /** An unsafe request as the sample's page sends it: same origin, the CSRF token in a header. */
  unsafe(method, path, cookie, csrfToken) {
    return this.request(method, path, {
      cookie,
      headers: [
        ['origin', this.origin],
        ['x-csrf-token', csrfToken ?? ''],
      ],
    });
  }

  logout(cookie, csrfToken) {
    return this.unsafe('POST', '/auth/logout', cookie, csrfToken);
  }
}

/** Logs in `user` and fetches its CSRF token; throws unless both succeed. */
export async function loggedIn(client, user) {
  const { response, cookie } = await client.login(user);
  if (response.status !== 200 || cookie === undefined) {
    throw new Error(`login of ${user.username} answered ${response.status}: ${response.text()}`);
  }
  const { csrfToken } = await client.csrf(cookie);
  if (typeof csrfToken !== 'string') {
    throw new Error(`no CSRF token for ${user.username}'s session`);
  }
  return { cookie, value: cookie.slice(COOKIE_NAME.length + 1), csrfToken };
}
