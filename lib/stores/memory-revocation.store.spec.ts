import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { CLOCK_SKEW_MS } from '../core/clock-skew.js';
import { MemoryRevocationStore } from './memory-revocation.store.js';

const T0 = Date.UTC(2026, 0, 1);
const HOUR = 3_600_000;

describe('MemoryRevocationStore', () => {
  const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  const error = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  afterEach(() => {
    warn.mockClear();
    error.mockClear();
  });

  function storeAt(maxRevocations: number) {
    const clock = { now: T0 };
    return { store: new MemoryRevocationStore({ maxRevocations, now: () => clock.now }), clock };
  }
  const session = (id: string, createdAt: number, userId: string | null = 'u') => ({
    id,
    userId,
    createdAt,
  });

  it('drops expired entries to make room before failing closed', async () => {
    const { store, clock } = storeAt(3);
    for (const id of ['a', 'b', 'c']) {
      await store.revoke(id, T0 + HOUR);
    }
    clock.now = T0 + HOUR;
    await store.revoke('d', T0 + 2 * HOUR);
    expect(store.size).toBe(1);
    expect(store.notBefore).toBe(Number.NEGATIVE_INFINITY);
    expect(await store.isRevoked(session('d', T0))).toBe(true);
    expect(warn).not.toHaveBeenCalled();
  });

  it('when full of unexpired entries, refuses every older session instead of forgetting one', async () => {
    const { store, clock } = storeAt(3);
    await store.revoke('victim', T0 + HOUR);
    clock.now += CLOCK_SKEW_MS + 1_000;
    await store.revoke('b', T0 + HOUR);
    await store.revoke('c', T0 + HOUR);
    const full = clock.now;
    await store.revoke('d', T0 + HOUR);
    // The victim's entry is covered by the watermark, so it could go; the recent ones stay.
    expect(store.notBefore).toBe(full);
    expect(store.size).toBe(3);
    expect(await store.isRevoked(session('victim', T0 - 1_000))).toBe(true);
    expect(await store.isRevoked(session('victim', T0 + CLOCK_SKEW_MS))).toBe(true);
    expect(await store.isRevoked(session('c', full))).toBe(true);
    // Any session created before the watermark is refused; a later one is not.
    expect(await store.isRevoked(session('bystander', full - 1))).toBe(true);
    expect(await store.isRevoked(session('newcomer', full))).toBe(false);
    expect(warn).toHaveBeenCalledTimes(1);
    const message = String(warn.mock.calls[0][0]);
    expect(message).toMatch(/Revocation list full \(3 unexpired entries\)/);
    expect(message).toContain(new Date(full).toISOString());
    expect(message).not.toMatch(/victim|\bb\b|\bc\b|\bd\b/);
  });

  it('when the last seconds alone fill it, moves the watermark past them and says so', async () => {
    const { store } = storeAt(2);
    await store.revoke('x', T0 + HOUR);
    await store.revoke('y', T0 + HOUR);
    await store.revoke('z', T0 + HOUR);
    expect(store.notBefore).toBe(T0 + CLOCK_SKEW_MS + 1);
    expect(store.size).toBe(1);
    for (const id of ['x', 'y', 'z']) {
      expect(await store.isRevoked(session(id, T0 + CLOCK_SKEW_MS))).toBe(true);
    }
    expect(await store.isRevoked(session('later', T0 + CLOCK_SKEW_MS + 1))).toBe(false);
    expect(error).toHaveBeenCalledTimes(1);
    expect(String(error.mock.calls[0][0])).not.toMatch(/\b[xyz]\b/);
  });

  it('never holds more than maxRevocations entries, sessions and users together', async () => {
    const { store, clock } = storeAt(50);
    for (let i = 0; i < 1_000; i++) {
      clock.now += 100;
      await (i % 3 === 0
        ? store.revokeUser(`user-${i}`, clock.now, clock.now + HOUR)
        : store.revoke(`id-${i}`, clock.now + HOUR));
      expect(store.size).toBeLessThanOrEqual(50);
    }
  });

  it('a user not-before covered by the watermark needs no entry', async () => {
    const { store, clock } = storeAt(1);
    await store.revoke('a', T0 + HOUR);
    clock.now += CLOCK_SKEW_MS + 1;
    await store.revoke('b', T0 + HOUR);
    await store.revokeUser('u', T0, T0 + HOUR);
    expect(store.size).toBe(1);
    expect(await store.isRevoked(session('any', T0 - 1, 'u'))).toBe(true);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new MemoryRevocationStore({ maxRevocations: 0 })).toThrow(TypeError);
    expect(() => new MemoryRevocationStore({ maxRevocations: 1.5 })).toThrow(TypeError);
  });
});
