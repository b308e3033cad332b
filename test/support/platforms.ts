import type { INestApplication } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { TestingModule } from '@nestjs/testing';

/** The HTTP platforms every HTTP suite runs on (`describe.each(PLATFORMS)`). */
export const PLATFORMS = ['express', 'fastify'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** Creates and initialises the compiled module's app on `platform`, ready for supertest. */
export async function initApp(
  moduleRef: TestingModule,
  platform: Platform,
): Promise<INestApplication> {
  if (platform === 'express') {
    return moduleRef.createNestApplication({ logger: false }).init();
  }
  const app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter(), {
    logger: false,
  });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}

/**
 * The platform of the app answering at `url` (a spawned sample): Express names itself in
 * `X-Powered-By`, Fastify sends none. Proves a child process runs the platform it was asked for.
 */
export async function platformAt(url: string): Promise<Platform> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  await response.body?.cancel();
  return response.headers.get('x-powered-by') === 'Express' ? 'express' : 'fastify';
}
