// The account page, enhanced: its forms call the JSON API with fetch (CSRF token in the
// `x-csrf-token` header), errors show the server's message in place, and a `@FreshSession`
// refusal (401, `reauthenticate: true`) asks for the password in a dialog, then retries.
// After each change the page's markup is fetched again (`GET /`), so the server renders it
// one way only. Without this script the same forms post, and the server redirects back.

const app = () => document.getElementById('app');
let csrfToken = app().dataset.csrf;

/** `api` is "METHOD /path"; resolves with the status and the parsed JSON body. */
async function call(api, fields) {
  const [method, url] = api.split(' ');
  const withBody = method !== 'DELETE'; // Fastify refuses a JSON content type with no body
  const response = await fetch(url, {
    method,
    credentials: 'same-origin',
    headers: {
      'x-csrf-token': csrfToken,
      ...(withBody ? { 'content-type': 'application/json' } : {}),
    },
    body: withBody ? JSON.stringify(fields) : undefined,
  });
  const body = await response.json().catch(() => ({}));
  return { ok: response.ok, status: response.status, body };
}

function messageOf(body) {
  const { message } = body;
  if (Array.isArray(message)) {
    return message.join('; ');
  }
  return typeof message === 'string' ? message : 'Something went wrong: try again';
}

/** The form's own error line, else the page's. */
function showError(form, message) {
  const line = form.querySelector('[data-error]') ?? document.querySelector('main > [data-error]');
  line.textContent = message;
}

/** Fields of a form as an object, without `_csrf` (the header carries the token). */
function fieldsOf(form) {
  const fields = Object.fromEntries(new FormData(form));
  delete fields._csrf;
  return fields;
}

/** Replaces the page's content with a fresh render of it, and shows `notice`. */
async function refresh(notice) {
  const response = await fetch('/', { credentials: 'same-origin' });
  const page = new DOMParser().parseFromString(await response.text(), 'text/html');
  const next = page.getElementById('app');
  app().replaceWith(next);
  csrfToken = next.dataset.csrf;
  document.title = page.title;
  if (typeof notice === 'string') {
    document.getElementById('notice').textContent = notice;
  }
}

/** Asks for the password in the dialog; resolves `true` once the server took it. */
function reauthenticate() {
  const dialog = document.getElementById('reauthenticate-dialog');
  const form = dialog.querySelector('form');
  const password = form.elements.password;
  showError(form, '');
  return new Promise((resolve) => {
    const onSubmit = async (event) => {
      if (event.submitter?.formMethod === 'dialog') {
        return; // Cancel: the dialog closes itself.
      }
      event.preventDefault();
      const result = await call(form.dataset.api, { password: password.value });
      password.value = '';
      if (!result.ok) {
        showError(form, messageOf(result.body));
        return;
      }
      csrfToken = result.body.csrfToken; // a new login: a new session id, a new token
      resolve(true);
      dialog.close();
    };
    form.addEventListener('submit', onSubmit);
    dialog.addEventListener(
      'close',
      () => {
        form.removeEventListener('submit', onSubmit);
        resolve(false);
      },
      { once: true },
    );
    dialog.showModal();
  });
}

async function submit(form) {
  const fields = fieldsOf(form);
  for (const input of form.querySelectorAll('input[type="password"]')) {
    input.value = '';
  }
  let result = await call(form.dataset.api, fields);
  if (result.status === 401 && result.body.reauthenticate === true) {
    if (!(await reauthenticate())) {
      return;
    }
    result = await call(form.dataset.api, fields);
  }
  if (result.ok) {
    await refresh(result.body.message);
  } else {
    showError(form, messageOf(result.body));
  }
}

document.addEventListener('submit', async (event) => {
  const form = event.target;
  if (form.dataset.api === undefined || form.closest('dialog') !== null) {
    return;
  }
  event.preventDefault();
  const buttons = form.querySelectorAll('button');
  buttons.forEach((button) => (button.disabled = true));
  try {
    await submit(form);
  } catch {
    showError(form, 'The server could not be reached: try again');
  } finally {
    buttons.forEach((button) => (button.disabled = false));
  }
});
