import { readSessionCookie, serializeClearingCookie } from '../cookie/session-cookie.js';
import type { SessionRuntime } from '../core/session-runtime.js';
import { failClosed, SessionRevokedError } from '../core/session.errors.js';
import { originRefusal } from '../csrf/request-origin.js';
import type { SessionRecord } from '../interfaces/session-store.interface.js';
import { decodeBinding, encodeBinding, newBinding, type DeviceBinding } from './device-binding.js';
import { challengeIssuedAt } from './device-macs.js';
import {
  DeviceProofError,
  parseDeviceProof,
  verifyDeviceProof,
  type DeviceProof,
} from './device-proof.js';
import type { DeviceSessions } from './device-sessions.js';
import { challengeHeader, DBSC_HEADERS, presentedSessionIdentifier } from './dbsc-headers.js';

/** A request to a DBSC endpoint, whatever the platform. */
export interface DeviceRequest {
  /** A request header by lower-case name (its first value). */
  header(name: string): string | undefined;
}

/** What a DBSC endpoint answers; the platform route writes it. */
export interface DeviceAnswer {
  readonly status: number;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly cookies: readonly string[];
  readonly body: object;
}

function answer(
  status: number,
  body: object,
  headers: ReadonlyArray<readonly [string, string]> = [],
  cookies: readonly string[] = [],
): DeviceAnswer {
  return { status, body, headers: [['cache-control', 'no-store'], ...headers], cookies };
}

function error(status: number, message: string): DeviceAnswer {
  const names: Record<number, string> = {
    400: 'Bad Request',
    401: 'Unauthorized',
    403: 'Forbidden',
    409: 'Conflict',
    503: 'Service Unavailable',
  };
  return answer(status, { statusCode: status, error: names[status], message });
}

/**
 * The registration and refresh endpoints of device-bound sessions. Both find the session by the
 * session cookie (never by the DBSC identifier alone, which is no credential), keep the origin
 * checks of unsafe requests, and need no CSRF token: the proof is a signature over a challenge
 * of this server. Store failures answer `503`; bad input `4xx`; nothing here throws.
 */
export class DeviceEndpoints {
  constructor(
    private readonly runtime: SessionRuntime,
    private readonly devices: DeviceSessions,
  ) {}

  /** `POST registrationPath`: binds the key of a valid proof to the logged-in, unbound session. */
  async register(request: DeviceRequest): Promise<DeviceAnswer> {
    return this.guarded(request, async () => {
      const record = await this.session(request);
      if (record === null || record.userId === null) {
        return error(401, 'Device registration needs a logged-in session');
      }
      if (record.deviceBinding != null) {
        return error(409, 'This session is bound to a device already');
      }
      let proof: DeviceProof;
      try {
        proof = parseDeviceProof(request.header(DBSC_HEADERS.response));
        if (proof.jwk === null) {
          throw new DeviceProofError('bad-key');
        }
        verifyDeviceProof(proof, proof.jwk);
      } catch (failure) {
        return this.refusedProof(failure);
      }
      const { keys } = this.runtime.options;
      const issuedAt = challengeIssuedAt(
        keys.deviceBinding,
        proof.challenge,
        'register',
        record.id,
      );
      if (
        issuedAt === null ||
        this.runtime.now() - issuedAt > this.devices.config.challengeLifetimeMs
      ) {
        return error(
          403,
          'The registration proof does not answer a current challenge of this session',
        );
      }
      const binding = newBinding(proof.jwk, issuedAt);
      const bound = await this.swap(record.id, null, encodeBinding(binding));
      if (!bound) {
        return error(409, 'This session is bound to a device already');
      }
      this.runtime.events.emit({
        type: 'device-bound',
        action: 'registered',
        sessionId: record.id,
        userId: record.userId,
      });
      return this.renewed(request, binding);
    });
  }

  /**
   * `POST refreshPath`: without a proof, `403` with a challenge; with one signed by the bound
   * key over an unused challenge, a fresh bound cookie and the next challenge. A proof that
   * fails (bad signature or key, alg confusion, a used or foreign challenge, malformed) ends the
   * session: only a thief holding the session cookie without the key sends one.
   */
  async refresh(request: DeviceRequest): Promise<DeviceAnswer> {
    return this.guarded(request, async () => {
      const identifier = presentedSessionIdentifier(request.header(DBSC_HEADERS.sessionId));
      if (identifier === null) {
        return error(400, `A refresh needs the ${DBSC_HEADERS.sessionId} header`);
      }
      const record = await this.session(request);
      const binding = record === null ? null : decodeBinding(record.deviceBinding);
      if (
        record === null ||
        binding === null ||
        binding === 'corrupt' ||
        binding.id !== identifier
      ) {
        // No live session bound under this identifier: tell the browser to drop its DBSC session.
        return answer(
          200,
          { session_identifier: identifier, continue: false },
          [],
          [this.devices.clearingBoundCookie()],
        );
      }
      if (request.header(DBSC_HEADERS.response) === undefined) {
        return this.challenged(binding);
      }
      let proof: DeviceProof;
      try {
        proof = parseDeviceProof(request.header(DBSC_HEADERS.response));
        verifyDeviceProof(proof, binding.key);
      } catch {
        return this.endSession(record);
      }
      const { keys } = this.runtime.options;
      const issuedAt = challengeIssuedAt(
        keys.deviceBinding,
        proof.challenge,
        'refresh',
        binding.id,
      );
      if (issuedAt === null || issuedAt <= binding.used) {
        // Signed by the device's key over a challenge it used already, or never got: a replay.
        return this.endSession(record);
      }
      if (this.runtime.now() - issuedAt > this.devices.config.challengeLifetimeMs) {
        // The device's own proof over an old challenge (it was idle): ask again, nothing wrong.
        return this.challenged(binding);
      }
      const next: DeviceBinding = { ...binding, used: issuedAt };
      if (!(await this.swap(record.id, record.deviceBinding!, encodeBinding(next)))) {
        // A concurrent refresh moved the binding on: this proof's turn is over, ask again.
        return this.challenged(binding);
      }
      this.runtime.events.emit({
        type: 'device-bound',
        action: 'refreshed',
        sessionId: record.id,
        userId: record.userId,
      });
      return this.renewed(request, next);
    });
  }

  /** Origin checks, then `work`; a session that ended meanwhile `401`, a store failure `503`. */
  private async guarded(
    request: DeviceRequest,
    work: () => Promise<DeviceAnswer>,
  ): Promise<DeviceAnswer> {
    const refusal = originRefusal(
      (name) => request.header(name),
      this.runtime.options.csrf.trustedOrigins,
    );
    if (refusal !== null) {
      return error(403, refusal);
    }
    try {
      return await work();
    } catch (failure) {
      if (failure instanceof SessionRevokedError) {
        return error(401, 'The session ended');
      }
      // Every store call goes through failClosed: anything else is the store failing.
      return error(503, 'The session store is unavailable; try again');
    }
  }

  private swap(id: string, expected: string | null, next: string): Promise<boolean> {
    return failClosed(this.runtime.store.swapDeviceBinding!(id, expected, next));
  }

  /** The live session the session cookie names, or `null`. */
  private async session(request: DeviceRequest): Promise<SessionRecord | null> {
    const cookie = readSessionCookie(request.header('cookie'), this.runtime.options.cookie.name);
    if (cookie.kind !== 'value') {
      return null;
    }
    const opened = await this.runtime.persistence.open(cookie.value, this.runtime.now());
    return opened?.record ?? null;
  }

  private refusedProof(failure: unknown): DeviceAnswer {
    const reason = failure instanceof DeviceProofError ? failure.reason : 'malformed';
    return error(reason === 'malformed' ? 400 : 403, `The device proof was refused (${reason})`);
  }

  private challenged(binding: DeviceBinding): DeviceAnswer {
    const challenge = this.devices.challenge('refresh', binding.id, binding.used + 1);
    return answer(403, { statusCode: 403, error: 'Forbidden', message: 'Sign this challenge' }, [
      [DBSC_HEADERS.challenge, challengeHeader(challenge, binding.id)],
    ]);
  }

  /** A fresh bound cookie, the instructions, and the next challenge sent ahead. */
  private renewed(request: DeviceRequest, binding: DeviceBinding): DeviceAnswer {
    const challenge = this.devices.challenge('refresh', binding.id, binding.used + 1);
    return answer(
      200,
      this.devices.instructions(binding, request.header('host')),
      [[DBSC_HEADERS.challenge, challengeHeader(challenge, binding.id)]],
      [this.devices.boundCookie(binding)],
    );
  }

  /** A failed proof of possession: the session ends, and its cookies are cleared. */
  private async endSession(record: SessionRecord): Promise<DeviceAnswer> {
    await this.runtime.persistence.end([record.id], this.runtime.now());
    this.runtime.events.emit({
      type: 'revoked',
      reason: 'device-proof-failed',
      userId: record.userId,
      sessionIds: [record.id],
      count: 1,
    });
    return answer(
      403,
      {
        statusCode: 403,
        error: 'Forbidden',
        message: 'The device proof failed; the session has ended',
      },
      [],
      [serializeClearingCookie(this.runtime.options.cookie), this.devices.clearingBoundCookie()],
    );
  }
}
