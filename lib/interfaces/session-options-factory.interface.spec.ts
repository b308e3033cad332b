import { describe, expect, it } from '@jest/globals';
import { Inject, Injectable, Module, type ConfigurableModuleOptionsFactory } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { SESSION_MODULE_OPTIONS } from '../session.module-definition.js';
import { SessionModule } from '../session.module.js';
import { SessionService } from '../session.service.js';
import type { SessionModuleOptions } from './session-module-options.interface.js';
import type { SessionOptionsFactory } from './session-options-factory.interface.js';

const SECRET = 'Zq8!mW3@rT6#yU1$iO4%pA7^sD2&fG5*';
const CONFIG = Symbol('CONFIG');

@Module({ providers: [{ provide: CONFIG, useValue: { secret: SECRET } }], exports: [CONFIG] })
class ConfigModule {}

@Injectable()
class SessionConfig implements SessionOptionsFactory {
  constructor(@Inject(CONFIG) private readonly config: { secret: string }) {}

  async createSessionOptions(): Promise<SessionModuleOptions> {
    return { secret: this.config.secret, idleTimeout: '5m' };
  }
}

describe('SessionOptionsFactory', () => {
  it('is the factory type ConfigurableModuleBuilder expects for useClass and useExisting', () => {
    // Compile-time checks, both ways: the interface neither asks for more nor offers less.
    const fromOurs: ConfigurableModuleOptionsFactory<SessionModuleOptions, 'createSessionOptions'> =
      {} as SessionOptionsFactory;
    const fromNest: SessionOptionsFactory = {} as ConfigurableModuleOptionsFactory<
      SessionModuleOptions,
      'createSessionOptions'
    >;
    expect([fromOurs, fromNest]).toHaveLength(2);
  });

  it('makes the options of forRootAsync({ useClass }), with its dependencies injected', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [SessionModule.forRootAsync({ imports: [ConfigModule], useClass: SessionConfig })],
    }).compile();
    try {
      expect(moduleRef.get(SESSION_MODULE_OPTIONS, { strict: false })).toEqual({
        secret: SECRET,
        idleTimeout: '5m',
      });
      expect(moduleRef.get(SessionService, { strict: false })).toBeInstanceOf(SessionService);
    } finally {
      await moduleRef.close();
    }
  });
});
