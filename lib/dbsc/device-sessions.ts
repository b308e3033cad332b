import { stringifySetCookie } from 'cookie';
import { readSessionCookie } from '../cookie/session-cookie.js';
import type { SessionExchange } from '../core/session-exchange.js';
import type { SessionRecord } from '../interfaces/session-store.interface.js';
import type {
  ResolvedDeviceBound,
  ResolvedSessionOptions,
} from '../options/resolve-session-options.js';
import { bindingIdOf, type DeviceBinding } from './device-binding.js';
import {
  boundCookieValue,
  issueChallenge,
  isValidBoundCookie,
  type ChallengePurpose,
} from './device-macs.js';
import { DBSC_HEADERS, registrationHeader } from './dbsc-headers.js';

/** The JSON session instructions a registration or refresh answers with (W3C DBSC). */
export interface SessionInstructions {
  readonly session_identifier: string;
  readonly refresh_url: string;
  readonly scope: {
    readonly origin?: string;
    readonly include_site: boolean;
    readonly scope_specification: readonly unknown[];
  };
  readonly credentials: ReadonlyArray<{
    readonly type: 'cookie';
    readonly name: string;
    readonly attributes: string;
  }>;
}

/**
 * What every request shares of device-bound sessions: the check that a bound session came with
 * its bound cookie, the registration offer on login responses, and the challenges, cookies and
 * instructions the endpoints hand out. Keeps no state of its own.
 */
export class DeviceSessions {
  readonly config: ResolvedDeviceBound;

  constructor(
    private readonly options: ResolvedSessionOptions,
    private readonly now: () => number,
  ) {
    if (options.deviceBound === null) {
      throw new Error('DeviceSessions needs the deviceBound option');
    }
    this.config = options.deviceBound;
  }

  /**
   * Whether a request may use `record`: always for a session that never bound a key; for a
   * bound one, only with an unexpired bound cookie of its binding (one HMAC, no store I/O). A
   * binding that cannot be read refuses the session (fail closed). A socket's messages are
   * checked as of its handshake (`presentedAt`): a socket opened with a valid bound cookie keeps
   * its session while the session lives (it is closed when the session ends), and a copied
   * cookie opens none after its lifetime.
   */
  admits(record: SessionRecord, exchange: SessionExchange): boolean {
    const bindingId = bindingIdOf(record.deviceBinding);
    if (bindingId === null) {
      return true;
    }
    if (bindingId === 'corrupt') {
      return false;
    }
    const cookie = readSessionCookie(exchange.header('cookie'), this.config.cookieName);
    return (
      cookie.kind === 'value' &&
      isValidBoundCookie(
        this.options.keys.deviceBinding,
        cookie.value,
        bindingId,
        exchange.presentedAt ?? this.now(),
      )
    );
  }

  /**
   * On a response that handed a cookie client a new authenticated, unbound session (a login),
   * offers registration: `Secure-Session-Registration` with a challenge for that session.
   */
  offer(record: SessionRecord, exchange: SessionExchange): void {
    if (record.userId === null || record.deviceBinding != null) {
      return;
    }
    const challenge = this.challenge('register', record.id);
    exchange.setHeader(
      DBSC_HEADERS.registration,
      registrationHeader(this.config.registrationPath, challenge),
    );
  }

  /**
   * A new challenge for `purpose`, bound to `subject` (session id or binding id). A refresh
   * challenge is stamped after the binding's last used one (`notBefore`), even within the same
   * millisecond: a challenge never counts as used before the device answered it.
   */
  challenge(purpose: ChallengePurpose, subject: string, notBefore = 0): string {
    const issuedAt = Math.max(this.now(), notBefore);
    return issueChallenge(this.options.keys.deviceBinding, purpose, subject, issuedAt);
  }

  /** `Set-Cookie` of a fresh bound cookie for `binding`, valid for `cookieLifetime`. */
  boundCookie(binding: DeviceBinding): string {
    const lifetime = this.config.cookieLifetimeMs;
    const value = boundCookieValue(
      this.options.keys.deviceBinding,
      binding.id,
      this.now() + lifetime,
    );
    return stringifySetCookie({
      name: this.config.cookieName,
      value,
      ...this.cookieAttributes(),
      maxAge: Math.floor(lifetime / 1000),
    });
  }

  /** `Set-Cookie` that deletes the bound cookie. */
  clearingBoundCookie(): string {
    return stringifySetCookie({
      name: this.config.cookieName,
      value: '',
      ...this.cookieAttributes(),
      maxAge: 0,
    });
  }

  /** The session instructions for `binding`; `host` (the request's) names the scope's origin. */
  instructions(binding: DeviceBinding, host: string | undefined): SessionInstructions {
    const { sameSite } = this.options.cookie;
    return {
      session_identifier: binding.id,
      refresh_url: this.config.refreshPath,
      scope: {
        ...(host === undefined ? {} : { origin: `https://${host}` }),
        include_site: false,
        scope_specification: [],
      },
      credentials: [
        {
          type: 'cookie',
          name: this.config.cookieName,
          attributes: `Path=/; Secure; HttpOnly; SameSite=${sameSite[0].toUpperCase()}${sameSite.slice(1)}`,
        },
      ],
    };
  }

  private cookieAttributes() {
    return {
      path: '/',
      secure: true,
      httpOnly: true,
      sameSite: this.options.cookie.sameSite,
    } as const;
  }
}
