import {
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Min,
} from 'class-validator';

/** Letters, digits and `!#$%&'*+-.^_\`|~`: an RFC 6265 cookie-name token. */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Printable ASCII without `;` (and without space, which no sane path or domain needs). */
const COOKIE_ATTRIBUTE = /^[\x21-\x3A\x3C-\x7E]+$/;

/** Validation schema of `cookie` options. */
export class CookieOptionsSchema {
  @IsOptional()
  @IsString()
  @Matches(COOKIE_NAME, {
    message:
      'cookie.name must be a cookie token (letters, digits, -, _, no ; space or control characters)',
  })
  name?: string;

  @IsOptional()
  @IsBoolean()
  secure?: boolean;

  @IsOptional()
  @IsBoolean()
  httpOnly?: boolean;

  @IsOptional()
  @IsIn(['lax', 'strict', 'none'], { message: "cookie.sameSite must be 'lax', 'strict' or 'none'" })
  sameSite?: string;

  @IsOptional()
  @IsString()
  @Matches(/^\//, { message: "cookie.path must start with '/'" })
  @Matches(COOKIE_ATTRIBUTE, {
    message: 'cookie.path must not contain ;, spaces or control characters',
  })
  path?: string;

  @IsOptional()
  @IsString()
  @Matches(COOKIE_ATTRIBUTE, {
    message: 'cookie.domain must not contain ;, spaces or control characters',
  })
  domain?: string;

  @IsOptional()
  @IsBoolean()
  persistent?: boolean;
}

/** Validation schema of `hijackSignals` options (when an object). */
export class HijackSignalsOptionsSchema {
  @IsOptional()
  @IsIn(['log', 'step-up', 'revoke'], {
    message: "hijackSignals.policy must be 'log', 'step-up' or 'revoke'",
  })
  policy?: string;

  @IsOptional()
  @IsBoolean({ message: 'hijackSignals.network must be a boolean' })
  network?: boolean;
}

/** An absolute URL path without query, fragment, spaces or control characters. */
const URL_PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*$/;

/** Validation schema of `deviceBound` options (durations and cross-field checks are elsewhere). */
export class DeviceBoundOptionsSchema {
  @IsOptional()
  @IsString()
  @Matches(URL_PATH, {
    message: "deviceBound.registrationPath must be a path such as '/session/dbsc/register'",
  })
  registrationPath?: string;

  @IsOptional()
  @IsString()
  @Matches(URL_PATH, {
    message: "deviceBound.refreshPath must be a path such as '/session/dbsc/refresh'",
  })
  refreshPath?: string;

  @IsOptional()
  @IsString()
  @Matches(COOKIE_NAME, {
    message: 'deviceBound.cookieName must be a cookie token (letters, digits, -, _)',
  })
  cookieName?: string;

  @IsOptional()
  @IsIn(['allow', 'require'], { message: "deviceBound.policy must be 'allow' or 'require'" })
  policy?: string;
}

/**
 * Validation schema of the options that class-validator can check one field at a time; the
 * secret and the checks across fields are in `resolveSessionOptions`.
 */
export class SessionOptionsSchema {
  @IsOptional()
  @IsBoolean()
  allowInsecureCookies?: boolean;

  @IsOptional()
  @IsBoolean()
  encryptAtRest?: boolean;

  @IsOptional()
  @IsArray()
  @IsString({ each: true, message: 'keepOnLogin must be a list of data keys' })
  keepOnLogin?: string[];

  @IsOptional()
  @IsInt()
  @Min(256, { message: 'maxDataSize must be at least 256 bytes' })
  maxDataSize?: number;

  @IsOptional()
  @IsInt()
  @Min(1, { message: 'maxSessions must be at least 1' })
  maxSessions?: number;

  @IsOptional()
  @IsInt()
  @Min(1, { message: 'maxSessionsPerUser must be at least 1' })
  maxSessionsPerUser?: number;

  @IsOptional()
  @IsIn(['evict-oldest', 'refuse'], {
    message: "sessionLimitPolicy must be 'evict-oldest' or 'refuse'",
  })
  sessionLimitPolicy?: string;
}
