import { ConfigurableModuleBuilder } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type {
  SessionModuleExtras,
  SessionModuleOptions,
} from './interfaces/session-module-options.interface.js';
import { SessionGuard } from './session.guard.js';

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
    providers: [
      ...(definition.providers ?? []),
      ...(extras.global ? [{ provide: APP_GUARD, useClass: SessionGuard }] : []),
    ],
  }))
  .build();
