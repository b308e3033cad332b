import { Inject, Module, type NestModule, type OnApplicationShutdown } from '@nestjs/common';
import { APP_GUARD, HttpAdapterHost } from '@nestjs/core';
import { CsrfProtection } from './csrf/csrf-protection.js';
import { EventEmitterForwarding } from './events/event-emitter-forwarding.js';
import { SessionEvents } from './events/session-events.js';
import {
  SESSION_CLOCK,
  SESSION_OPTIONS,
  SESSION_RUNTIME,
  SessionRuntime,
} from './core/session-runtime.js';
import type { SessionModuleOptions } from './interfaces/session-module-options.interface.js';
import { RevocationStore } from './interfaces/revocation-store.interface.js';
import { SessionStore } from './interfaces/session-store.interface.js';
import {
  resolveSessionOptions,
  type ResolvedSessionOptions,
} from './options/resolve-session-options.js';
import { ConfigurableSessionModule, SESSION_MODULE_OPTIONS } from './session.module-definition.js';
import { SessionGuard } from './session.guard.js';
import { SessionRequestGuard } from './session-request.guard.js';
import { bindPlatform } from './platform/bind-platform.js';
import { bindDeviceRoutes } from './dbsc/device-routes.js';
import { GraphQLSubscriptionSessions } from './platform/graphql-subscriptions.js';
import { RoutePolicies } from './route-policy.js';
import { SocketSessionInterceptor } from './platform/socket-session.interceptor.js';
import { SocketSessions } from './platform/socket-sessions.js';
import { WatchedStore } from './platform/socket-store-watch.js';
import { SessionService } from './session.service.js';
import { MemoryStore } from './stores/memory-session.store.js';
import { revocationStoreFor } from './stores/revocation-store.provider.js';

/**
 * Server-side sessions for the whole application: import once in the root module.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [SessionModule.forRoot({ secret: process.env.SESSION_SECRET!, global: true })],
 * })
 * export class AppModule {}
 * ```
 * `forRootAsync({ imports, inject, useFactory | useClass | useExisting })` takes the options
 * from configuration.
 */
@Module({
  providers: [
    {
      provide: SESSION_OPTIONS,
      inject: [SESSION_MODULE_OPTIONS],
      useFactory: (options: SessionModuleOptions) => resolveSessionOptions(options),
    },
    { provide: SESSION_CLOCK, useValue: Date.now },
    {
      provide: SessionStore,
      inject: [SESSION_MODULE_OPTIONS, SESSION_OPTIONS, SESSION_CLOCK],
      useFactory: (
        options: SessionModuleOptions,
        resolved: ResolvedSessionOptions,
        now: () => number,
      ): SessionStore =>
        // Stateless: no session is kept server-side (revocations have their own store below).
        (options.store === 'cookie' ? undefined : options.store) ??
        new MemoryStore({ maxSessions: resolved.maxSessions, now }),
    },
    // The runtime's view of the store: local revocations close this process's sockets at once.
    {
      provide: WatchedStore,
      inject: [SessionStore],
      useFactory: (store: SessionStore) => new WatchedStore(store),
    },
    {
      provide: RevocationStore,
      inject: [SESSION_MODULE_OPTIONS, SESSION_CLOCK],
      useFactory: revocationStoreFor,
    },
    {
      provide: SESSION_RUNTIME,
      inject: [SESSION_OPTIONS, WatchedStore, SESSION_CLOCK, RevocationStore],
      useFactory: (
        options: ResolvedSessionOptions,
        store: WatchedStore,
        now: () => number,
        revocations: RevocationStore | null,
      ): SessionRuntime =>
        new SessionRuntime(options, store, now, store.watchRevocations(revocations)),
    },
    {
      provide: SessionEvents,
      inject: [SESSION_RUNTIME],
      useFactory: (runtime: SessionRuntime) => runtime.events,
    },
    EventEmitterForwarding,
    RoutePolicies,
    CsrfProtection,
    { provide: APP_GUARD, useClass: SessionRequestGuard },
    SessionGuard,
    SessionService,
    GraphQLSubscriptionSessions,
    // Made global by a session WebSocket adapter, so HTTP-only apps never run it.
    SocketSessionInterceptor,
    SocketSessions,
  ],
  exports: [
    SessionService,
    SessionEvents,
    SessionGuard,
    SessionStore,
    RevocationStore,
    SESSION_RUNTIME,
    GraphQLSubscriptionSessions,
    SocketSessions,
  ],
})
export class SessionModule
  extends ConfigurableSessionModule
  implements NestModule, OnApplicationShutdown
{
  constructor(
    @Inject(SessionStore) private readonly store: SessionStore,
    @Inject(SESSION_RUNTIME) private readonly runtime: SessionRuntime,
    @Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost,
  ) {
    super();
  }

  /**
   * Binds sessions on the HTTP adapter itself (Express middleware, Fastify hooks), for every
   * request. Nest calls `configure` before it registers its routes, so this runs first; going
   * through `MiddlewareConsumer.forRoutes('{*path}')` instead would add Nest's per-route path
   * matching and exception proxy to every request, public ones included.
   */
  configure(): void {
    const adapter = this.adapterHost.httpAdapter;
    if (adapter !== undefined && adapter !== null) {
      bindPlatform(adapter, this.runtime);
      bindDeviceRoutes(adapter, this.runtime);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.store.close?.();
    await this.runtime.revocations?.close?.();
  }
}
