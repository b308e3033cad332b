import { HttpException, HttpStatus, Logger } from '@nestjs/common';

const logger = new Logger('SessionModule');

/** Status and JSON body of the answer that replaces a response whose session could not be saved. */
export function commitFailureAnswer(error: unknown): { status: number; body: string } {
  if (error instanceof HttpException) {
    return { status: error.getStatus(), body: JSON.stringify(error.getResponse()) };
  }
  logger.error('Saving the session failed', error instanceof Error ? error.stack : undefined);
  return {
    status: HttpStatus.INTERNAL_SERVER_ERROR,
    body: JSON.stringify({
      statusCode: HttpStatus.INTERNAL_SERVER_ERROR,
      message: 'Internal server error',
    }),
  };
}

/** Headers of the original response that must not describe the replacing error body. */
export const REPLACED_BODY_HEADERS = [
  'content-length',
  'etag',
  'last-modified',
  'content-encoding',
];

/**
 * The `Set-Cookie` list of a response once the session cookie is `setCookie`: an earlier
 * session cookie of this request is replaced, so a response never carries two contradicting
 * ones; other cookies stay.
 */
export function withSessionCookie(
  existing: string | string[] | number | undefined,
  name: string,
  setCookie: string,
): string[] {
  const entries =
    existing === undefined ? [] : Array.isArray(existing) ? existing : [String(existing)];
  return [...entries.filter((entry) => !entry.startsWith(`${name}=`)), setCookie];
}

/** The host name of a `Host` header, without its port (`''` when absent). */
export function hostnameOf(host: string | undefined): string {
  if (host === undefined) {
    return '';
  }
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0];
}
