import { Inject, Injectable, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { DeviceBoundPolicy } from './interfaces/session-module-options.interface.js';
import {
  DEVICE_BOUND_KEY,
  FRESH_SESSION_KEY,
  PUBLIC_KEY,
  ROLES_KEY,
  SESSION_PARAM_KEY,
  SKIP_CSRF_KEY,
} from './session.constants.js';

/** What a route (or resolver, or message handler) declares about sessions. */
export interface RoutePolicy {
  /** No session required (`@Public()`, unless the route demands roles or freshness). */
  readonly isPublic: boolean;
  /** Every role `@Roles()` requires. */
  readonly roles: readonly string[];
  /** `@FreshSession()`'s largest login age, in ms; `undefined` when fresh login is not required. */
  readonly freshForMs: number | undefined;
  /** `@SkipCsrf()`. */
  readonly skipCsrf: boolean;
  /** The handler takes `@Session()`: the session is loaded before it runs. */
  readonly takesSession: boolean;
  /** `@DeviceBound()`'s policy; `undefined` when the module's `deviceBound.policy` applies. */
  readonly deviceBound: DeviceBoundPolicy | undefined;
}

type Target = object;

/**
 * Each handler's policy, read from its metadata once and remembered: metadata never changes
 * after start-up, so a request pays two map lookups instead of several `Reflector` reads.
 *
 * Precedence, so that no demand is lost to a broader `@Public()`: the handler's own level
 * decides before its class's; on one level, `@Roles()`, `@FreshSession()` or
 * `@DeviceBound('require')` beats `@Public()`. A route that demands roles, freshness or a bound
 * device therefore always demands a session.
 */
@Injectable()
export class RoutePolicies {
  private readonly cache = new WeakMap<Target, Map<Target, RoutePolicy>>();

  constructor(@Inject(Reflector) private readonly reflector: Reflector) {}

  of(context: ExecutionContext): RoutePolicy {
    const handler = context.getHandler();
    const owner = context.getClass();
    let byClass = this.cache.get(handler);
    if (byClass === undefined) {
      byClass = new Map();
      this.cache.set(handler, byClass);
    }
    let policy = byClass.get(owner);
    if (policy === undefined) {
      policy = this.read(handler, owner);
      byClass.set(owner, policy);
    }
    return policy;
  }

  private read(handler: Target, owner: Target): RoutePolicy {
    const get = <T>(key: string, target: Target) =>
      this.reflector.get<T | undefined>(key, target as never);
    const handlerRoles = get<string[]>(ROLES_KEY, handler);
    const handlerFresh = get<number>(FRESH_SESSION_KEY, handler);
    const classRoles = get<string[]>(ROLES_KEY, owner);
    const classFresh = get<number>(FRESH_SESSION_KEY, owner);
    const handlerBound = get<DeviceBoundPolicy>(DEVICE_BOUND_KEY, handler);
    const classBound = get<DeviceBoundPolicy>(DEVICE_BOUND_KEY, owner);
    const handlerDemands =
      handlerRoles !== undefined || handlerFresh !== undefined || handlerBound === 'require';
    const classDemands =
      classRoles !== undefined || classFresh !== undefined || classBound === 'require';
    let isPublic: boolean;
    if (handlerDemands) {
      isPublic = false;
    } else if (get<boolean>(PUBLIC_KEY, handler) === true) {
      isPublic = true;
    } else {
      isPublic = !classDemands && get<boolean>(PUBLIC_KEY, owner) === true;
    }
    return Object.freeze({
      isPublic,
      roles: Object.freeze([...(handlerRoles ?? classRoles ?? [])]),
      freshForMs: handlerFresh ?? classFresh,
      skipCsrf:
        (get<boolean>(SKIP_CSRF_KEY, handler) ?? get<boolean>(SKIP_CSRF_KEY, owner)) === true,
      takesSession: get<boolean>(SESSION_PARAM_KEY, handler) === true,
      deviceBound: handlerBound ?? classBound,
    });
  }
}
