import { HttpStatus, Logger, UnauthorizedException, type ExecutionContext } from '@nestjs/common';
import type { SessionState } from '../core/session-state.js';
import { subscriptionSessionOf } from './graphql-subscriptions.js';
import { boundSessionOf } from './request-binding.js';
import { socketSessionOf } from './socket-binding.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);
const logger = new Logger('SessionModule');

/** A request as the guards see it in any execution context: its session and what CSRF reads. */
export interface ContextSession {
  readonly state: SessionState;
  /** Whether the operation may change state (an unsafe HTTP method, a GraphQL mutation). */
  readonly unsafe: boolean;
  /** Whether the operation travels over `GET` (a GraphQL mutation there is refused). */
  readonly viaGet: boolean;
  /** A request header by lower-case name (the upgrade request's, on a socket). */
  header(name: string): string | undefined;
  /** A field of the parsed request body (`undefined` where there is none). */
  field(name: string): unknown;
}

/** Whatever a GraphQL context holds as its request: perhaps not an HTTP one at all. */
interface PlainRequest {
  readonly headers?: Record<string, string | string[] | undefined>;
  readonly raw?: PlainRequest;
}

/** A node or Fastify request, as far as the session needs one. */
interface PlatformRequest {
  readonly method?: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body?: unknown;
  /** Fastify's request wraps the node request. */
  readonly raw?: PlatformRequest;
}

/**
 * The session of the request behind any execution context Nest runs a guard in, or the reason
 * there is none. Only these contexts are served; any other (`rpc`, a custom one) has none, and
 * every guard and decorator of this library denies there.
 */
export function contextSessionOf(context: ExecutionContext): ContextSession | string {
  const type = context.getType<string>();
  if (type === 'http') {
    const request = context.switchToHttp().getRequest<PlatformRequest>();
    return httpSession(request, null) ?? MISSING_HTTP;
  }
  if (type === 'graphql') {
    return graphqlSession(context);
  }
  if (type === 'ws') {
    return socketSessionOf(context) ?? MISSING_WS;
  }
  return `execution context '${type}' has no session: SessionModule serves http, graphql and ws; use SessionService.fromHeaders() for other transports`;
}

const MISSING_HTTP =
  'the HTTP request has no session: import SessionModule.forRoot() in the root module (it binds sessions on the Express or Fastify adapter)';
const MISSING_GRAPHQL =
  "the GraphQL context has no request: keep the driver's default context, or return { req } (Apollo) or { reply } (Mercurius) from your context function";
const MISSING_SUBSCRIPTION =
  'the GraphQL subscription has no session: spread GraphQLSubscriptionSessions.context() into the graphql-ws context (Apollo) or subscription.context (Mercurius); see "GraphQL" in the README';
const SOCKET_MUTATION =
  'a mutation over a subscription connection has no response to save the session in: send mutations over HTTP';
const MISSING_WS =
  "the WebSocket client has no session: use the session adapter, app.useWebSocketAdapter(new SessionWsAdapter(app)) from 'nest-secure-session/ws' or new SessionIoAdapter(app) from 'nest-secure-session/socket.io' (see \"WebSockets\" in the README)";

/** An HTTP request (node's, or Fastify's around it) as the guards see it. */
class HttpContextSession implements ContextSession {
  readonly unsafe: boolean;
  readonly viaGet: boolean;

  constructor(
    readonly state: SessionState,
    private readonly request: PlatformRequest,
    private readonly raw: PlatformRequest,
    operation: string | null,
  ) {
    const method = raw.method ?? 'GET';
    this.unsafe = operation === null ? !SAFE_METHODS.has(method) : operation === 'mutation';
    this.viaGet = method === 'GET';
  }

  /** Whether this describes `request` with `state` bound to it. */
  describes(request: PlatformRequest, state: SessionState): boolean {
    return this.request === request && this.state === state;
  }

  // Properties, not methods: callers pass them on as plain functions (`originRefusal`).
  readonly header = (name: string): string | undefined => headerValue(this.raw.headers[name]);

  readonly field = (name: string): unknown => {
    const body = this.request.body;
    return typeof body === 'object' && body !== null && Object.hasOwn(body, name)
      ? (body as Record<string, unknown>)[name]
      : undefined;
  };
}

const HTTP_CONTEXT = Symbol('nest-secure-session.http-context');
type WithHttpContext = PlatformRequest & { [HTTP_CONTEXT]?: HttpContextSession };

function httpSession(
  request: PlatformRequest | undefined,
  operation: string | null,
): ContextSession | null {
  const raw = request?.raw ?? request;
  const state = raw === undefined ? undefined : boundSessionOf(raw);
  if (request === undefined || raw === undefined || state === undefined) {
    return null;
  }
  if (operation !== null) {
    return new HttpContextSession(state, request, raw, operation);
  }
  // One per request: the guards and `@Session()` each ask for it.
  const cached = (raw as WithHttpContext)[HTTP_CONTEXT];
  if (cached?.describes(request, state) === true) {
    return cached;
  }
  const created = new HttpContextSession(state, request, raw, null);
  (raw as WithHttpContext)[HTTP_CONTEXT] = created;
  return created;
}

/**
 * GraphQL: the HTTP request the operation came in (Apollo's `req`, Mercurius's
 * `reply.request`), else the session `GraphQLSubscriptionSessions` put in the context of an
 * operation on a subscription connection. A WebSocket upgrade request is never used as an HTTP
 * one: its cookie would reach the resolver without the handshake's Origin check.
 */
function graphqlSession(context: ExecutionContext): ContextSession | string {
  const gqlContext = context.getArgByIndex<
    { req?: PlainRequest; reply?: { request?: PlainRequest } } | undefined
  >(2);
  const info = context.getArgByIndex<{ operation?: { operation?: string } } | undefined>(3);
  const operation = info?.operation?.operation ?? 'query';
  const request = gqlContext?.req ?? gqlContext?.reply?.request;
  const overSocket =
    operation === 'subscription' || (request?.raw ?? request)?.headers?.upgrade !== undefined;
  const http = overSocket ? null : httpSession(request as PlatformRequest | undefined, operation);
  if (http !== null) {
    return http;
  }
  const subscription = subscriptionSessionOf(gqlContext);
  if (subscription === undefined) {
    return overSocket ? MISSING_SUBSCRIPTION : MISSING_GRAPHQL;
  }
  if (operation === 'mutation') {
    return SOCKET_MUTATION;
  }
  return {
    state: subscription.state,
    unsafe: false,
    viaGet: false,
    header: subscription.header,
    field: () => undefined,
  };
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

const reported = new Set<string>();

/**
 * The denial for a context without a session: `401`, and one error log per cause naming what
 * is missing and how to fix it (the first time it happens, so a misconfiguration is seen).
 */
export function missingSessionDenial(reason: string): UnauthorizedException {
  if (!reported.has(reason)) {
    reported.add(reason);
    logger.error(`Denied: ${reason}`);
  }
  return new UnauthorizedException({
    statusCode: HttpStatus.UNAUTHORIZED,
    error: 'Unauthorized',
    message: 'A valid session is required: log in first',
  });
}
