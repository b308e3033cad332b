/** Metadata key of `@Public()`. */
export const PUBLIC_KEY = 'SESSION:PUBLIC';
/** Metadata key of `@Roles()`. */
export const ROLES_KEY = 'SESSION:ROLES';
/** Metadata key of `@FreshSession()`. */
export const FRESH_SESSION_KEY = 'SESSION:FRESH';
/** Metadata key set on handlers that take `@Session()`: the session is loaded before they run. */
export const SESSION_PARAM_KEY = 'SESSION:PARAM';
/** Metadata key of `@SkipCsrf()`. */
export const SKIP_CSRF_KEY = 'SESSION:SKIP_CSRF';
/** Metadata key of `@DeviceBound()`. */
export const DEVICE_BOUND_KEY = 'SESSION:DEVICE_BOUND';
