import { describe, expect, it } from '@jest/globals';
import { SessionOptionsError } from './session-options.error.js';
import { resolveSessionOptions } from './resolve-session-options.js';
import { unknownOptionProblems } from './unknown-options.js';

const SECRET = 'tX9#kQ2!vL7@pR4$wZ8%nB3^mC6&hJ1*';

describe('unknown option keys', () => {
  it('fail the boot with a did-you-mean hint for a mistyped security option', () => {
    expect(() => resolveSessionOptions({ secret: SECRET, idleTimout: '5m' } as never)).toThrow(
      SessionOptionsError,
    );
    expect(unknownOptionProblems({ secret: SECRET, idleTimout: '5m' })).toEqual([
      "idleTimout is not an option; did you mean 'idleTimeout'?",
    ]);
  });

  it('are checked inside cookie and csrf too', () => {
    expect(
      unknownOptionProblems({
        secret: SECRET,
        cookie: { httponly: true, samesite: 'strict' },
        csrf: { trustedOrigin: ['https://a.example'] },
      }),
    ).toEqual([
      "cookie.httponly is not an option; did you mean 'cookie.httpOnly'?",
      "cookie.samesite is not an option; did you mean 'cookie.sameSite'?",
      "csrf.trustedOrigin is not an option; did you mean 'csrf.trustedOrigins'?",
    ]);
  });

  it('list the known options when nothing is close', () => {
    const [problem] = unknownOptionProblems({ secret: SECRET, frobnicate: 1 });
    expect(problem).toMatch(/^frobnicate is not an option; known options: secret, store/);
  });

  it('accept every documented option', () => {
    expect(
      unknownOptionProblems({
        secret: SECRET,
        store: 'cookie',
        revocationStore: undefined,
        transport: ['cookie'],
        csrf: { trustedOrigins: [], headerName: 'x', fieldName: 'y' },
        encryptAtRest: true,
        cookie: {
          name: 'a',
          secure: true,
          httpOnly: true,
          sameSite: 'lax',
          path: '/',
          domain: 'd',
          persistent: false,
        },
        idleTimeout: 1,
        absoluteTimeout: 2,
        touchAfter: 0,
        socketCheckInterval: '5s',
        allowInsecureCookies: false,
        keepOnLogin: [],
        maxDataSize: 1,
        maxSessions: 1,
        maxSessionsPerUser: 1,
        sessionLimitPolicy: 'refuse',
      }),
    ).toEqual([]);
  });
});
