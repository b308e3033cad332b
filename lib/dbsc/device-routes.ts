import { Logger } from '@nestjs/common';
import type { AbstractHttpAdapter } from '@nestjs/core';
import type { SessionRuntime } from '../core/session-runtime.js';
import { DeviceEndpoints, type DeviceAnswer, type DeviceRequest } from './device-endpoints.js';

/** The part of an Express or Fastify request the endpoints read. */
interface RequestLike {
  readonly headers: Record<string, string | string[] | undefined>;
}

/**
 * Adds the registration and refresh endpoints (POST) to the HTTP adapter itself, on Express and
 * Fastify alike, when `deviceBound` is on. They sit outside Nest's routing: no guard, pipe or
 * CSRF token applies (they check origin and proof themselves), and no global prefix.
 */
export function bindDeviceRoutes(adapter: AbstractHttpAdapter, runtime: SessionRuntime): void {
  const devices = runtime.devices;
  if (devices === null) {
    return;
  }
  const endpoints = new DeviceEndpoints(runtime, devices);
  const route =
    (handle: (request: DeviceRequest) => Promise<DeviceAnswer>) =>
    (request: RequestLike, response: unknown): void => {
      handle(deviceRequestOf(request))
        .then((answer) => send(adapter, response, answer))
        .catch((error: unknown) => {
          // The answer could not be written (the connection went away): nothing to tell it.
          logger.warn(
            `A device-bound session answer could not be sent (${error instanceof Error ? error.name : typeof error})`,
          );
        });
    };
  adapter.post(
    devices.config.registrationPath,
    route((request) => endpoints.register(request)),
  );
  adapter.post(
    devices.config.refreshPath,
    route((request) => endpoints.refresh(request)),
  );
}

const logger = new Logger('SessionModule');

function deviceRequestOf(request: RequestLike): DeviceRequest {
  return {
    header: (name) => {
      const value = request.headers[name];
      return Array.isArray(value) ? value[0] : value;
    },
  };
}

function send(adapter: AbstractHttpAdapter, response: unknown, answer: DeviceAnswer): void {
  for (const [name, value] of answer.headers) {
    adapter.setHeader(response, name, value);
  }
  for (const cookie of answer.cookies) {
    adapter.appendHeader(response, 'set-cookie', cookie);
  }
  adapter.reply(response, answer.body, answer.status);
}
