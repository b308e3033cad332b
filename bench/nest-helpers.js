// What every variant's Nest app shares: decorators applied by hand (plain JavaScript, no build
// step: `Reflect.decorate`, exactly as TypeScript's emitted code does), the one route table, and
// the guard the anchor variants use in place of SessionGuard.
import 'reflect-metadata';
import {
  Get,
  HttpCode,
  HttpStatus,
  Injectable,
  Post,
  SetMetadata,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';

export const IDLE_SECONDS = 30 * 60;
export const ABSOLUTE_SECONDS = 12 * 60 * 60;
export const USERS = 10_000;
export const PUBLIC_BODY = Object.freeze({ public: true });

export function decorateClass(target, decorators, paramTypes = []) {
  Reflect.defineMetadata('design:paramtypes', paramTypes, target);
  Reflect.decorate(decorators, target);
}

function decorateMethod(target, method, decorators, parameterDecorators = []) {
  const prototype = target.prototype;
  for (const [index, decorator] of parameterDecorators.entries()) {
    decorator(prototype, method, index);
  }
  const descriptor = Object.getOwnPropertyDescriptor(prototype, method);
  Object.defineProperty(
    prototype,
    method,
    Reflect.decorate(decorators, prototype, method, descriptor),
  );
}

/**
 * Applies the same route table to every variant's controller. `params`: the parameter
 * decorators of each handler, by method name (`{ me: [Req()] }`).
 */
export function routes(target, { publicMark, params = {} }) {
  const mark = publicMark === undefined ? [] : [publicMark];
  const paramsOf = (method) => params[method] ?? [];
  decorateMethod(target, 'publicRoute', [Get('public'), ...mark]);
  decorateMethod(target, 'login', [Post('login'), HttpCode(200), ...mark], paramsOf('login'));
  decorateMethod(target, 'me', [Get('me')], paramsOf('me'));
  decorateMethod(target, 'counter', [Post('counter'), HttpCode(200)], paramsOf('counter'));
  decorateMethod(target, 'logout', [Post('logout'), HttpCode(200), ...mark], paramsOf('logout'));
}

export function unauthorized() {
  return new UnauthorizedException({
    statusCode: HttpStatus.UNAUTHORIZED,
    error: 'Unauthorized',
    message: 'A valid session is required: log in first',
  });
}

const ANCHOR_PUBLIC = 'bench:public';
export const AnchorPublic = () => SetMetadata(ANCHOR_PUBLIC, true);

/** Guard of the anchor variants: the same shape as SessionGuard (a global guard, @Public opt-out). */
export function anchorGuard(isAuthenticated) {
  class AnchorGuard {
    constructor(reflector) {
      this.reflector = reflector;
    }
    canActivate(context) {
      if (
        this.reflector.getAllAndOverride(ANCHOR_PUBLIC, [context.getHandler(), context.getClass()])
      ) {
        return true;
      }
      const result = isAuthenticated(context.switchToHttp().getRequest());
      if (result === true) {
        return true;
      }
      if (result === false) {
        throw unauthorized();
      }
      return result.then((ok) => {
        if (!ok) {
          throw unauthorized();
        }
        return true;
      });
    }
  }
  decorateClass(AnchorGuard, [Injectable()], [Reflector]);
  return AnchorGuard;
}
