import {
  ConfigurableModuleBuilder,
  Inject,
  Injectable,
  Module,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { APP_GUARD, ModuleRef } from '@nestjs/core';
import type {
  SessionModuleExtras,
  SessionModuleOptions,
} from './interfaces/session-module-options.interface.js';
import { SessionGuard } from './session.guard.js';

/**
 * The global guard `global: true` registers: it hands every decision to a `SessionGuard` that
 * Nest creates as an enhancer of this class (the `@UseGuards` below; this class handles no
 * route itself). Enhancers are what `Test.createTestingModule(…).overrideGuard(SessionGuard)`
 * replaces, so that override reaches the global guard just as it reaches every
 * `@UseGuards(SessionGuard)`. A plain `{ provide: APP_GUARD, useClass: SessionGuard }` would be
 * stored under a generated token (`APP_GUARD (UUID: …)`), out of reach of `overrideGuard`.
 */
@Injectable()
@UseGuards(SessionGuard)
class GlobalSessionGuard implements CanActivate {
  private guard: CanActivate | undefined;

  constructor(@Inject(ModuleRef) private readonly moduleRef: ModuleRef) {}

  canActivate(context: ExecutionContext): ReturnType<CanActivate['canActivate']> {
    // Strict: this module's enhancer (the one an override replaces), not SessionModule's provider.
    this.guard ??= this.moduleRef.get<CanActivate>(SessionGuard, { strict: true });
    return this.guard.canActivate(context);
  }
}

/** Holds the global guard and its `SessionGuard` enhancer, apart from `SessionModule`'s own provider. */
@Module({
  providers: [GlobalSessionGuard, { provide: APP_GUARD, useExisting: GlobalSessionGuard }],
})
class SessionGlobalGuardModule {}

export const {
  ConfigurableModuleClass: ConfigurableSessionModule,
  MODULE_OPTIONS_TOKEN: SESSION_MODULE_OPTIONS,
  OPTIONS_TYPE: SESSION_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: SESSION_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<SessionModuleOptions>({ moduleName: 'Session' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createSessionOptions')
  .setExtras<SessionModuleExtras>({ global: false }, (definition, extras) => ({
    ...definition,
    global: true,
    imports: [...(definition.imports ?? []), ...(extras.global ? [SessionGlobalGuardModule] : [])],
  }))
  .build();
