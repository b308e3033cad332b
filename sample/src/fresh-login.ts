import { applyDecorators } from '@nestjs/common';
import { FreshSession, Roles } from 'nest-secure-session';
import { plural } from './plural.js';

/**
 * How recent a login the admin action needs, in seconds: `FRESH_LOGIN_SECONDS`, 5 minutes by
 * default. Older, the guard answers `401` with `reauthenticate: true`.
 */
export const FRESH_LOGIN_SECONDS = positiveNumber(process.env.FRESH_LOGIN_SECONDS) ?? 300;

/** "5 minutes", "30 seconds": the window as the page states it. */
export const FRESH_LOGIN_LABEL =
  FRESH_LOGIN_SECONDS % 60 === 0
    ? plural(FRESH_LOGIN_SECONDS / 60, 'minute')
    : plural(FRESH_LOGIN_SECONDS, 'second');

/** A sensitive admin action: role `admin` and a login at most `FRESH_LOGIN_SECONDS` old. */
export const AdminAction = () =>
  applyDecorators(Roles('admin'), FreshSession(FRESH_LOGIN_SECONDS * 1000));

function positiveNumber(value: string | undefined): number | undefined {
  const parsed = Number(value);
  return value !== undefined && Number.isFinite(parsed) && parsed > 0 ? parsed : undefined;
}
