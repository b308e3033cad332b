// A minimal HTTP/1.1 client over raw sockets: it sends exactly the bytes it is given (control
// characters, obs-text, duplicated headers, huge values), which Node's own client refuses to,
// and keeps connections alive so that a run reuses a handful of sockets.
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { clearTimeout, setTimeout } from 'node:timers';

const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');

/** A parsed response: status, lower-cased headers (lists), body bytes. */
export class RawResponse {
  constructor(status, headers, body) {
    this.status = status;
    this.headers = headers;
    this.body = body;
  }

  /** The first value of a header, or `undefined`. */
  header(name) {
    return this.headers.get(name)?.[0];
  }

  /** Every `Set-Cookie` header. */
  get setCookies() {
    return this.headers.get('set-cookie') ?? [];
  }

  text() {
    return this.body.toString('utf8');
  }

  json() {
    try {
      return JSON.parse(this.text());
    } catch {
      return undefined;
    }
  }
}

/**
 * The bytes of one request. `headers` is a list of `[name, value]`; a value may be a string
 * (sent as latin1, byte for byte) or a Buffer. `Host` and `Content-Length` are added.
 */
export function requestBytes(host, method, path, headers = [], body) {
  const parts = [Buffer.from(`${method} ${path} HTTP/1.1\r\nhost: ${host}\r\n`, 'latin1')];
  for (const [name, value] of headers) {
    parts.push(Buffer.from(`${name}: `, 'latin1'));
    parts.push(Buffer.isBuffer(value) ? value : Buffer.from(value, 'latin1'));
    parts.push(CRLF);
  }
  const payload = body === undefined ? undefined : Buffer.from(body, 'utf8');
  if (payload !== undefined || (method !== 'GET' && method !== 'HEAD')) {
    parts.push(Buffer.from(`content-length: ${payload?.length ?? 0}\r\n`, 'latin1'));
  }
  parts.push(CRLF);
  if (payload !== undefined) {
    parts.push(payload);
  }
  return Buffer.concat(parts);
}

/**
 * One keep-alive connection; requests on it run one after another. When the server closes it
 * (after a `Connection: close` answer, a 400 from the HTTP parser…), the next request opens a
 * new one.
 */
export class RawConnection {
  constructor(port, { host = '127.0.0.1', timeoutMs = 10_000 } = {}) {
    this.port = port;
    this.host = host;
    this.timeoutMs = timeoutMs;
    this.socket = null;
    this.buffer = Buffer.alloc(0);
    this.pending = null;
    this.opened = 0;
  }

  get authority() {
    return `${this.host}:${this.port}`;
  }

  open() {
    const socket = connect({ port: this.port, host: this.host, noDelay: true });
    this.opened++;
    this.buffer = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.parse(false);
    });
    const gone = (error) => {
      if (this.socket === socket) {
        this.socket = null;
        this.parse(true, error);
      }
    };
    socket.on('error', gone);
    socket.on('close', () => gone());
    this.socket = socket;
    return socket;
  }

  /**
   * Sends `bytes` (from {@link requestBytes}) and resolves with the response; rejects when the
   * connection fails or the server closes it without a complete answer.
   */
  send(bytes, { method = 'GET' } = {}) {
    if (this.pending !== null) {
      return Promise.reject(new Error('one request at a time per connection'));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = null;
        this.socket?.destroy();
        this.socket = null;
        reject(new Error(`no answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.pending = {
        head: method === 'HEAD',
        resolve: (response) => {
          clearTimeout(timer);
          resolve(response);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const socket = this.socket ?? this.open();
      socket.write(bytes);
    });
  }

  /** Parses what has arrived; `ended` when the socket is gone (a body may end with it). */
  parse(ended, error) {
    const pending = this.pending;
    if (pending === null) {
      // Nothing asked for (e.g. an idle connection closed by the server): drop it.
      this.buffer = Buffer.alloc(0);
      return;
    }
    const result = parseResponse(this.buffer, ended, pending.head);
    if (result === null) {
      if (ended) {
        this.pending = null;
        pending.reject(
          error ??
            new Error(`connection closed before a complete answer (${this.buffer.length} B)`),
        );
      }
      return;
    }
    this.pending = null;
    this.buffer = this.buffer.subarray(result.consumed);
    const { response } = result;
    const connection = (response.header('connection') ?? '').toLowerCase();
    // A 400 or 431 may come from the HTTP parser, which then closes the connection; Fastify's
    // handler does not say so with `Connection: close`. Start afresh after one.
    const parserError = response.status === 400 || response.status === 431;
    if ((connection === 'close' || parserError) && this.socket !== null) {
      this.socket.destroy();
      this.socket = null;
      this.buffer = Buffer.alloc(0);
    }
    pending.resolve(response);
  }

  close() {
    this.socket?.destroy();
    this.socket = null;
  }
}

/** `{ response, consumed }` once `buffer` holds a whole response, else `null`. */
export function parseResponse(buffer, ended, isHead = false) {
  const headEnd = buffer.indexOf(HEAD_END);
  if (headEnd < 0) {
    return null;
  }
  const lines = buffer.subarray(0, headEnd).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0])?.[1] ?? NaN);
  const headers = new Map();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) {
      const name = line.slice(0, colon).trim().toLowerCase();
      const list = headers.get(name) ?? [];
      list.push(line.slice(colon + 1).trim());
      headers.set(name, list);
    }
  }
  const bodyStart = headEnd + HEAD_END.length;
  const length = headers.get('content-length')?.[0];
  const chunked = /chunked/i.test(headers.get('transfer-encoding')?.[0] ?? '');
  if (isHead || status === 204 || status === 304) {
    return { response: new RawResponse(status, headers, Buffer.alloc(0)), consumed: bodyStart };
  }
  if (length !== undefined) {
    const end = bodyStart + Number(length);
    if (buffer.length < end) {
      return null;
    }
    return {
      response: new RawResponse(status, headers, buffer.subarray(bodyStart, end)),
      consumed: end,
    };
  }
  if (chunked) {
    const chunks = [];
    let offset = bodyStart;
    for (;;) {
      const lineEnd = buffer.indexOf(CRLF, offset);
      if (lineEnd < 0) {
        return null;
      }
      const size = parseInt(buffer.subarray(offset, lineEnd).toString('latin1'), 16);
      if (size === 0) {
        const trailerEnd = buffer.indexOf(CRLF, lineEnd + 2);
        if (trailerEnd < 0) {
          return null;
        }
        return {
          response: new RawResponse(status, headers, Buffer.concat(chunks)),
          consumed: trailerEnd + 2,
        };
      }
      if (buffer.length < lineEnd + 2 + size + 2) {
        return null;
      }
      chunks.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
      offset = lineEnd + 2 + size + 2;
    }
  }
  // Neither: the body runs until the server closes the connection.
  if (!ended) {
    return null;
  }
  return {
    response: new RawResponse(status, headers, buffer.subarray(bodyStart)),
    consumed: buffer.length,
  };
}

/**
 * A small convenience client over one connection for well-formed requests: JSON bodies,
 * a cookie, extra headers.
 */
export class Client {
  constructor(port, options) {
    this.connection = new RawConnection(port, options);
  }

  async request(method, path, { cookie, bearer, json, headers = [] } = {}) {
    const all = [...headers];
    if (cookie !== undefined) {
      all.push(['cookie', cookie]);
    }
    if (bearer !== undefined) {
      all.push(['authorization', `Bearer ${bearer}`]);
    }
    if (json !== undefined) {
      all.push(['content-type', 'application/json']);
    }
    const body = json === undefined ? undefined : JSON.stringify(json);
    const bytes = requestBytes(this.connection.authority, method, path, all, body);
    const started = performance.now();
    const response = await this.connection.send(bytes, { method });
    response.ms = performance.now() - started;
    return response;
  }

  close() {
    this.connection.close();
  }
}

/** `name=value` of the session cookie a response sets (not a clearing one), or `undefined`. */
export function sessionCookieOf(response, name) {
  for (const header of response.setCookies) {
    const pair = header.split(';', 1)[0];
    if (pair.startsWith(`${name}=`) && pair.length > name.length + 1) {
      return pair;
    }
  }
  return undefined;
}
