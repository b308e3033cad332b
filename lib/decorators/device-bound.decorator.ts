import { SetMetadata } from '@nestjs/common';
import type { DeviceBoundPolicy } from '../interfaces/session-module-options.interface.js';
import { DEVICE_BOUND_KEY } from '../session.constants.js';

/**
 * What a route (or controller) asks of device binding (`deviceBound`), over the module's
 * `deviceBound.policy`. `'require'` (the default argument) lets through only a session whose
 * device key is bound (and whose bound cookie is valid): `SessionGuard` answers `401` to a
 * session that never bound one, e.g. from a browser without DBSC. `'allow'` lets unbound
 * sessions through on a module that requires binding elsewhere. Like `@Roles()`, `'require'`
 * demands a session even under `@Public()`.
 *
 * @example
 * ```ts
 * @DeviceBound('require')
 * @Post('transfer')
 * transfer() { ... }
 * ```
 */
export const DeviceBound = (policy: DeviceBoundPolicy = 'require') => {
  if (policy !== 'allow' && policy !== 'require') {
    throw new TypeError(`@DeviceBound() takes 'allow' or 'require', not ${JSON.stringify(policy)}`);
  }
  return SetMetadata(DEVICE_BOUND_KEY, policy);
};
