import { SetMetadata } from '@nestjs/common';
import { ROLES_KEY } from '../session.constants.js';

/**
 * Requires every listed role in the session's `roles`; `SessionGuard` answers `403` otherwise.
 *
 * @example
 * ```ts
 * @Roles('admin')
 * @Get('admin')
 * admin() { ... }
 * ```
 */
export const Roles = (...roles: string[]) => SetMetadata(ROLES_KEY, roles);
