import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import {
  SocketRegistry,
  type ProbedSession,
  type SocketEnd,
  type TrackedSocket,
} from './socket-registry.js';

const INTERVAL_MS = 1_000;

/** A socket that records how it was ended. */
function socket(): TrackedSocket & { ended: SocketEnd[] } {
  const ended: SocketEnd[] = [];
  return { ended, end: (reason) => ended.push(reason) };
}

describe('SocketRegistry', () => {
  /** The live sessions, by the handshake that presents them; anything else has ended. */
  let live: Map<string, ProbedSession>;
  let failing: boolean;
  let probe: jest.Mock<(handshake: string) => Promise<ProbedSession | null>>;
  let registry: SocketRegistry<string>;

  beforeEach(() => {
    jest.useFakeTimers();
    live = new Map([
      ['cookie-a', { id: 'a', userId: 'alice' }],
      ['cookie-b', { id: 'b', userId: 'alice' }],
      ['cookie-c', { id: 'c', userId: 'bob' }],
    ]);
    failing = false;
    probe = jest.fn((handshake: string) =>
      failing
        ? Promise.reject(new Error('store down'))
        : Promise.resolve(live.get(handshake) ?? null),
    );
    registry = new SocketRegistry(probe, INTERVAL_MS);
  });
  afterEach(() => {
    registry.close();
    jest.useRealTimers();
  });

  const track = (handshake: string) => {
    const tracked = socket();
    const untrack = registry.track(live.get(handshake)!, handshake, tracked);
    return { tracked, untrack };
  };

  it('runs no timer while nothing is tracked, and an unref’d one while something is', () => {
    expect(jest.getTimerCount()).toBe(0);
    const { untrack } = track('cookie-a');
    expect(jest.getTimerCount()).toBe(1);
    untrack();
    expect(registry.size).toBe(0);
    jest.advanceTimersByTime(INTERVAL_MS);
    expect(jest.getTimerCount()).toBe(0);
    expect(probe).not.toHaveBeenCalled();
  });

  it('unrefs its timer, so an open socket never keeps the process alive by itself', () => {
    jest.useRealTimers();
    const unref = jest.spyOn(globalThis, 'setTimeout');
    const realRegistry = new SocketRegistry(probe, INTERVAL_MS);
    realRegistry.track(live.get('cookie-a')!, 'cookie-a', socket());
    const timer = unref.mock.results.at(-1)?.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    realRegistry.close();
    unref.mockRestore();
  });

  it('re-reads each session once per interval, however many sockets it has', async () => {
    track('cookie-a');
    track('cookie-a');
    track('cookie-a');
    track('cookie-c');
    await jest.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(probe).toHaveBeenCalledTimes(2);
    await jest.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(probe).toHaveBeenCalledTimes(4);
  });

  it('closes every socket of a session that ended, at the next interval, and forgets it', async () => {
    const first = track('cookie-a');
    const second = track('cookie-a');
    const other = track('cookie-c');
    live.delete('cookie-a');
    await jest.advanceTimersByTimeAsync(INTERVAL_MS - 1);
    expect(first.tracked.ended).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(first.tracked.ended).toEqual(['session-ended']);
    expect(second.tracked.ended).toEqual(['session-ended']);
    expect(other.tracked.ended).toEqual([]);
    expect(registry.size).toBe(1);
  });

  it('re-reads at once the sessions a hint names, by id or by user', async () => {
    const a = track('cookie-a');
    const b = track('cookie-b');
    const c = track('cookie-c');
    live.delete('cookie-a');
    registry.hint({ ids: ['a'] });
    await Promise.resolve();
    await Promise.resolve();
    expect(a.tracked.ended).toEqual(['session-ended']);
    expect(probe).toHaveBeenCalledTimes(1);

    live.delete('cookie-b');
    registry.hint({ userIds: ['alice'], ids: ['unknown'] });
    await Promise.resolve();
    await Promise.resolve();
    expect(b.tracked.ended).toEqual(['session-ended']);
    expect(c.tracked.ended).toEqual([]);
    expect(probe).toHaveBeenCalledTimes(2);
  });

  it('closes, as unverified, the sockets of a session the store cannot read (fail closed)', async () => {
    const a = track('cookie-a');
    failing = true;
    await jest.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(a.tracked.ended).toEqual(['unverified']);
    expect(registry.size).toBe(0);
  });

  it('closes a session whose handshake now names another id', async () => {
    const a = track('cookie-a');
    live.set('cookie-a', { id: 'moved', userId: 'alice' });
    await jest.advanceTimersByTimeAsync(INTERVAL_MS);
    expect(a.tracked.ended).toEqual(['session-ended']);
  });

  it('reads a session again after a check in flight rather than twice at once', async () => {
    let release: () => void = () => undefined;
    probe.mockImplementationOnce(
      (handshake) =>
        new Promise((done) => {
          release = () => done(live.get(handshake) ?? null);
        }),
    );
    const a = track('cookie-a');
    registry.hint({ ids: ['a'] });
    registry.hint({ ids: ['a'] });
    registry.hint({ ids: ['a'] });
    expect(probe).toHaveBeenCalledTimes(1);
    release();
    await jest.advanceTimersByTimeAsync(0);
    // The hints that came during the read may name a revocation it did not see: one more read.
    expect(probe).toHaveBeenCalledTimes(2);
    expect(a.tracked.ended).toEqual([]);
  });

  it('stops its timer on close()', async () => {
    track('cookie-a');
    registry.close();
    expect(jest.getTimerCount()).toBe(0);
    await jest.advanceTimersByTimeAsync(INTERVAL_MS * 3);
    expect(probe).not.toHaveBeenCalled();
    track('cookie-c');
    expect(jest.getTimerCount()).toBe(0);
  });
});
