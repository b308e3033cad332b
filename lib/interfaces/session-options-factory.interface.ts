import type { SessionModuleOptions } from './session-module-options.interface.js';

/**
 * A provider that makes the options of `SessionModule.forRootAsync({ useClass })` (or
 * `useExisting`): Nest instantiates the class (injecting its constructor dependencies) and
 * calls `createSessionOptions()` once, at start-up. The options it returns are validated like
 * those given to `forRoot()`.
 *
 * @example
 * ```ts
 * import { Injectable } from '@nestjs/common';
 * import { ConfigModule, ConfigService } from '@nestjs/config';
 * import { SessionModule, type SessionModuleOptions, type SessionOptionsFactory } from 'nest-secure-session';
 *
 * @Injectable()
 * export class SessionConfig implements SessionOptionsFactory {
 *   constructor(private readonly config: ConfigService) {}
 *
 *   createSessionOptions(): SessionModuleOptions {
 *     return { secret: this.config.getOrThrow('SESSION_SECRET'), idleTimeout: '30m' };
 *   }
 * }
 *
 * SessionModule.forRootAsync({ imports: [ConfigModule], useClass: SessionConfig, global: true });
 * ```
 */
export interface SessionOptionsFactory {
  /** The module's options; may be async (e.g. to read a secret from a vault). */
  createSessionOptions(): SessionModuleOptions | Promise<SessionModuleOptions>;
}
