// A tiny keep-alive HTTP client for the functional checks and the counted (sequential) runs.
import { Agent, request as httpRequest } from 'node:http';

export const COOKIE_NAME = 'sid';

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

/**
 * One request to the variant on `port`. Resolves to `{ status, headers, body, setCookies }`;
 * `body` is parsed JSON when the response is JSON.
 */
export function request(port, method, path, { cookie, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const allHeaders = { ...headers };
    if (cookie) {
      allHeaders.cookie = cookie;
    }
    if (method !== 'GET') {
      allHeaders['content-length'] = '0';
    }
    const req = httpRequest(
      { host: '127.0.0.1', port, method, path, headers: allHeaders, agent },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body = text;
          if (String(res.headers['content-type'] ?? '').includes('json')) {
            try {
              body = JSON.parse(text);
            } catch {
              body = text;
            }
          }
          const setCookie = res.headers['set-cookie'];
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            setCookies: setCookie === undefined ? [] : [setCookie].flat(),
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The session cookie a response sets: `{ pair: 'sid=…', header, cleared }`, or `null`. */
export function sessionCookieOf(response, name = COOKIE_NAME) {
  const header = response.setCookies.findLast((entry) => entry.startsWith(`${name}=`));
  if (header === undefined) {
    return null;
  }
  const pair = header.split(';', 1)[0];
  const value = pair.slice(name.length + 1);
  const maxAge = /;\s*max-age=(-?\d+)/i.exec(header);
  const expires = /;\s*expires=([^;]+)/i.exec(header);
  const cleared =
    value === '' ||
    (maxAge !== null && Number(maxAge[1]) <= 0) ||
    (expires !== null && Date.parse(expires[1]) <= Date.now());
  return { pair, header, cleared };
}

export function closeAgent() {
  agent.destroy();
}
