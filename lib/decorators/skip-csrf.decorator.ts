import { SetMetadata } from '@nestjs/common';
import { SKIP_CSRF_KEY } from '../session.constants.js';

/**
 * Exempts a route from CSRF checks — for the rare endpoint that must take cross-site posts
 * (a payment provider's callback). It then must not rely on the session for authority.
 */
export const SkipCsrf = () => SetMetadata(SKIP_CSRF_KEY, true);
