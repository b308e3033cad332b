import 'reflect-metadata';
import { Logger, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module.js';

/** The sample on Express (the default) or, with `SESSION_PLATFORM=fastify`, on Fastify. */
async function createApp(platform: string): Promise<INestApplication> {
  if (platform === 'fastify') {
    // Loaded only when asked for: the Express sample does not need Fastify installed.
    const { FastifyAdapter } = await import('@nestjs/platform-fastify');
    return NestFactory.create(AppModule, new FastifyAdapter());
  }
  if (platform !== 'express') {
    throw new Error(`SESSION_PLATFORM must be 'express' or 'fastify', not '${platform}'`);
  }
  return NestFactory.create(AppModule);
}

async function bootstrap(): Promise<void> {
  const platform = process.env.SESSION_PLATFORM ?? 'express';
  const app = await createApp(platform);
  app.enableShutdownHooks();
  const port = Number(process.env.PORT ?? 3000);
  await app.listen(port, process.env.HOST ?? '127.0.0.1');
  Logger.log(`Sample app on http://localhost:${port} (${platform})`, 'Sample');
}

void bootstrap();
