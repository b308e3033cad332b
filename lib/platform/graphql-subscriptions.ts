import { Inject, Injectable } from '@nestjs/common';
import { HeadersExchange, type PlainHeaders } from '../core/headers.exchange.js';
import { SESSION_RUNTIME, type SessionRuntime } from '../core/session-runtime.js';
import { SessionState } from '../core/session-state.js';
import { originRefusal } from '../csrf/request-origin.js';

/** What a GraphQL subscription connection (graphql-ws) knows of its client. */
export interface SubscriptionHandshake {
  /** Headers of the WebSocket upgrade request: `cookie`, `origin`, `host`, `user-agent`… */
  readonly headers: PlainHeaders;
  /**
   * The client's `connection_init` payload (graphql-ws `connectionParams`). Its `authorization`
   * (`'Bearer <token>'`, with `'header'` in the `transport` option) carries the session when the
   * upgrade request has no `Authorization` header. On Mercurius it defaults to the payload
   * Mercurius keeps in the context, so `subscription.context` need not pass it.
   */
  readonly connectionParams?: Readonly<Record<string, unknown>> | null;
}

/**
 * The context entry that gives a subscription connection's operations their session: spread it
 * into the context the driver builds for them. Opaque: read the session with `@Session()`.
 */
export type SubscriptionSessionContext = Readonly<Record<symbol, unknown>>;

const SUBSCRIPTION_SESSION = Symbol('nest-secure-session.subscription');

/** An operation's session on a subscription connection, and the handshake headers it read. */
export interface SubscriptionSession {
  readonly state: SessionState;
  header(name: string): string | undefined;
}

/**
 * Sessions of GraphQL subscriptions over `graphql-ws`, whose operations have no HTTP request of
 * their own: the session is read from the connection's handshake, the upgrade request's cookie or
 * a bearer token in `connectionParams`. A handshake sent cross-site (`Sec-Fetch-Site:
 * cross-site`, or an `Origin` that is neither the app's host nor in `csrf.trustedOrigins`) is
 * not given its cookie's session, as the CSRF layer refuses such a request: the browser attaches
 * cookies to WebSocket handshakes from any page. Each operation loads the session anew (one
 * store read, when a guard or `@Session()` asks), so a session that ended is not served to a
 * later subscription; nothing is saved (there is no response to carry a change).
 *
 * @example
 * ```ts
 * // Apollo (Express)
 * GraphQLModule.forRootAsync<ApolloDriverConfig>({
 *   driver: ApolloDriver,
 *   inject: [GraphQLSubscriptionSessions],
 *   useFactory: (sessions: GraphQLSubscriptionSessions) => ({
 *     autoSchemaFile: true,
 *     subscriptions: { 'graphql-ws': true },
 *     // HTTP requests get `{ req }` from Nest; graphql-ws operations (with `extra`) the session.
 *     context: ({ extra, connectionParams }) =>
 *       extra ? sessions.context({ headers: extra.request.headers, connectionParams }) : {},
 *   }),
 * });
 * // Mercurius (Fastify)
 * useFactory: (sessions: GraphQLSubscriptionSessions) => ({
 *   autoSchemaFile: true,
 *   subscription: { context: (_socket, request) => sessions.context({ headers: request.headers }) },
 * }),
 * ```
 */
@Injectable()
export class GraphQLSubscriptionSessions {
  constructor(@Inject(SESSION_RUNTIME) private readonly runtime: SessionRuntime) {}

  /** The context entry for the operations of the connection `handshake` describes. */
  context(handshake: SubscriptionHandshake): SubscriptionSessionContext {
    const headers = new HeadersExchange(handshake.headers);
    return {
      [SUBSCRIPTION_SESSION]: new HandshakeSessions(
        this.runtime,
        {
          ...plainHeaders(headers, this.cookieAllowed(headers)),
        },
        handshake.connectionParams ?? null,
        this.runtime.now(),
      ),
    };
  }

  /** Whether the handshake may use the session cookie: the CSRF layer's Origin rules. */
  private cookieAllowed(headers: HeadersExchange): boolean {
    const { csrf } = this.runtime.options;
    return (
      !csrf.enabled || originRefusal((name) => headers.header(name), csrf.trustedOrigins) === null
    );
  }
}

/** The sessions of one connection's operations: one `SessionState` per operation context. */
class HandshakeSessions {
  private readonly states = new WeakMap<object, SessionState>();

  constructor(
    private readonly runtime: SessionRuntime,
    private readonly headers: Record<string, string>,
    private readonly connectionParams: Readonly<Record<string, unknown>> | null,
    /** When the connection's handshake was made: its cookies are checked as of then. */
    private readonly connectedAt: number,
  ) {}

  stateFor(operationContext: object): SessionState {
    let state = this.states.get(operationContext);
    if (state === undefined) {
      const headers = { ...this.headers };
      const bearer = authorizationOf(this.connectionParams ?? mercuriusPayloadOf(operationContext));
      if (headers.authorization === undefined && bearer !== undefined) {
        headers.authorization = bearer;
      }
      state = new SessionState(this.runtime, new HeadersExchange(headers, this.connectedAt));
      this.states.set(operationContext, state);
    }
    return state;
  }

  header(name: string): string | undefined {
    return this.headers[name];
  }
}

/**
 * The session of a GraphQL operation whose context holds a `GraphQLSubscriptionSessions` entry,
 * or `undefined` when it holds none.
 */
export function subscriptionSessionOf(
  operationContext: object | undefined,
): SubscriptionSession | undefined {
  const sessions = (operationContext as Record<symbol, unknown> | undefined)?.[
    SUBSCRIPTION_SESSION
  ];
  if (!(sessions instanceof HandshakeSessions) || operationContext === undefined) {
    return undefined;
  }
  return { state: sessions.stateFor(operationContext), header: (name) => sessions.header(name) };
}

/** The handshake headers as the session reads them, without the cookie when it is refused. */
function plainHeaders(headers: HeadersExchange, withCookie: boolean): Record<string, string> {
  const result: Record<string, string> = {};
  for (const name of ['host', 'origin', 'user-agent', 'sec-fetch-site', 'authorization']) {
    const value = headers.header(name);
    if (value !== undefined) {
      result[name] = value;
    }
  }
  const cookie = headers.header('cookie');
  if (withCookie && cookie !== undefined) {
    result.cookie = cookie;
  }
  return result;
}

/** `authorization` of a `connectionParams` object, whatever the case of its key. */
function authorizationOf(params: unknown): string | undefined {
  if (typeof params !== 'object' || params === null) {
    return undefined;
  }
  for (const [key, value] of Object.entries(params)) {
    if (key.toLowerCase() === 'authorization' && typeof value === 'string') {
      return value;
    }
  }
  return undefined;
}

/** Mercurius keeps the `connection_init` payload in the operation's context. */
function mercuriusPayloadOf(operationContext: object): unknown {
  return (operationContext as { _connectionInit?: unknown })._connectionInit;
}
