import { applyDecorators, Header } from '@nestjs/common';

/**
 * Headers of every HTML page: never cached (it shows a user's sessions), and a Content Security
 * Policy that runs only the page's own script and style, and posts forms only to this origin.
 */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': [
    "default-src 'self'",
    "img-src 'self' data:",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
  ].join('; '),
  'referrer-policy': 'same-origin',
  'x-content-type-options': 'nosniff',
};

/** {@link PAGE_HEADERS} on a route. */
export const PageHeaders = () =>
  applyDecorators(...Object.entries(PAGE_HEADERS).map(([name, value]) => Header(name, value)));
