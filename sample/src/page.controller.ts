import { Controller, Get, Header } from '@nestjs/common';
import { Public } from 'nest-secure-session';

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>nest-secure-session sample</title>
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto}label{display:block;margin:.5rem 0}</style>
</head>
<body>
  <h1>nest-secure-session</h1>
  <p>Signed in as: <strong id="whoami">…</strong></p>
  <form id="login-form" method="post" action="/auth/login">
    <label>Username <input id="username" name="username" autocomplete="username" value="alice"></label>
    <label>Password <input id="password" name="password" type="password" autocomplete="current-password"></label>
    <button id="login" type="submit">Log in</button>
  </form>
  <form id="logout-form" method="post" action="/auth/logout">
    <button id="logout" type="submit">Log out</button>
  </form>
  <p id="status" role="status"></p>
  <script>
    const whoami = document.getElementById('whoami');
    const status = document.getElementById('status');
    let csrfToken = '';
    async function refresh() {
      const response = await fetch('/me', { credentials: 'same-origin' });
      const me = response.ok ? await response.json() : null;
      // Token first: the page shows a user only once it can also log them out.
      csrfToken = (await (await fetch('/auth/csrf', { credentials: 'same-origin' })).json()).csrfToken;
      whoami.textContent = me ? me.userId : 'nobody';
    }
    async function post(url, body) {
      const response = await fetch(url, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrfToken },
        body: JSON.stringify(body ?? {}),
      });
      status.textContent = response.ok ? 'ok' : 'error ' + response.status;
      await refresh();
    }
    document.getElementById('login-form').addEventListener('submit', (event) => {
      event.preventDefault();
      post('/auth/login', {
        username: document.getElementById('username').value,
        password: document.getElementById('password').value,
      });
    });
    document.getElementById('logout-form').addEventListener('submit', (event) => {
      event.preventDefault();
      post('/auth/logout');
    });
    refresh();
  </script>
</body>
</html>`;

@Controller()
export class PageController {
  @Public()
  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  page(): string {
    return PAGE;
  }
}
