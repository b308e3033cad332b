import { SetMetadata } from '@nestjs/common';
import { PUBLIC_KEY } from '../session.constants.js';

/**
 * Lets a route through the global `SessionGuard` without a session.
 *
 * @example
 * ```ts
 * @Public()
 * @Get('health')
 * health() { return 'ok'; }
 * ```
 */
export const Public = () => SetMetadata(PUBLIC_KEY, true);
