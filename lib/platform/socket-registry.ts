/** Why a tracked socket is closed. */
export type SocketEnd =
  /** Its session was revoked, logged out or expired. */
  | 'session-ended'
  /** Its session could not be read (store unavailable): closed rather than trusted. */
  | 'unverified';

/** An open socket whose handshake presented a live session. */
export interface TrackedSocket {
  /** Closes the socket. Called at most once. */
  end(reason: SocketEnd): void;
}

/** A session as the registry re-reads it: its id and user, or `null` when it has ended. */
export interface ProbedSession {
  readonly id: string;
  readonly userId: string | null;
}

/** Re-reads the session a socket's handshake presented; rejects when the store fails. */
export type SessionProbe<H> = (handshake: H) => Promise<ProbedSession | null>;

/** Sessions whose sockets should be checked now: a local revocation named them. */
export interface SessionHint {
  readonly ids?: readonly string[];
  readonly userIds?: readonly string[];
}

/** The open sockets of one session id, and a handshake to re-read it with. */
interface Group<H> {
  readonly id: string;
  readonly userId: string | null;
  /** The latest socket's handshake (a refreshed stateless cookie outlives older ones). */
  handshake: H;
  readonly sockets: Set<TrackedSocket>;
  checking: boolean;
  checkAgain: boolean;
}

/** Most session re-reads in flight at once during a periodic check. */
const CHECK_CONCURRENCY = 32;

/**
 * The open sockets of live sessions, grouped by session id. Every `intervalMs` (while any is
 * tracked) it re-reads each session once, however many sockets it has, and closes the sockets
 * of a session that has ended, so that such a socket stays open at most about one interval
 * plus one store round trip. A `hint` re-reads the named sessions at once. The timer is
 * unref'd and runs only while sockets are tracked; `close()` stops it.
 */
export class SocketRegistry<H> {
  private readonly groups = new Map<string, Group<H>>();
  private readonly byUser = new Map<string, Set<Group<H>>>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly probe: SessionProbe<H>,
    private readonly intervalMs: number,
  ) {}

  /** Number of sessions with tracked sockets. */
  get size(): number {
    return this.groups.size;
  }

  /** Tracks a socket of a live session; returns the function that stops tracking it. */
  track(session: ProbedSession, handshake: H, socket: TrackedSocket): () => void {
    let group = this.groups.get(session.id);
    if (group === undefined) {
      group = {
        id: session.id,
        userId: session.userId,
        handshake,
        sockets: new Set(),
        checking: false,
        checkAgain: false,
      };
      this.groups.set(session.id, group);
      if (session.userId !== null) {
        const ofUser = this.byUser.get(session.userId) ?? new Set();
        ofUser.add(group);
        this.byUser.set(session.userId, ofUser);
      }
    }
    group.handshake = handshake;
    group.sockets.add(socket);
    this.schedule();
    const tracked = group;
    return () => {
      tracked.sockets.delete(socket);
      if (tracked.sockets.size === 0) {
        this.forget(tracked);
      }
    };
  }

  /** Re-reads, now, the tracked sessions a local revocation may have ended. */
  hint(hint: SessionHint): void {
    const groups = new Set<Group<H>>();
    for (const id of hint.ids ?? []) {
      const group = this.groups.get(id);
      if (group !== undefined) {
        groups.add(group);
      }
    }
    for (const userId of hint.userIds ?? []) {
      this.byUser.get(userId)?.forEach((group) => groups.add(group));
    }
    groups.forEach((group) => void this.check(group));
  }

  /** Re-reads every tracked session now (what each interval does). */
  async checkAll(): Promise<void> {
    const queue = [...this.groups.values()];
    const worker = async (): Promise<void> => {
      for (let group = queue.shift(); group !== undefined; group = queue.shift()) {
        await this.check(group);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CHECK_CONCURRENCY, queue.length) }, worker));
  }

  /** Stops the timer; sockets are left to their servers, which close them on shutdown. */
  close(): void {
    this.closed = true;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
  }

  private async check(group: Group<H>): Promise<void> {
    if (group.checking) {
      group.checkAgain = true;
      return;
    }
    group.checking = true;
    try {
      do {
        group.checkAgain = false;
        let ended: SocketEnd | null = null;
        try {
          const probed = await this.probe(group.handshake);
          ended = probed === null || probed.id !== group.id ? 'session-ended' : null;
        } catch {
          ended = 'unverified';
        }
        if (ended !== null) {
          this.end(group, ended);
          return;
        }
      } while (group.checkAgain && this.groups.get(group.id) === group);
    } finally {
      group.checking = false;
    }
  }

  private end(group: Group<H>, reason: SocketEnd): void {
    this.forget(group);
    const sockets = [...group.sockets];
    group.sockets.clear();
    for (const socket of sockets) {
      try {
        socket.end(reason);
      } catch {
        // A socket that fails to close is already going away.
      }
    }
  }

  private forget(group: Group<H>): void {
    if (this.groups.get(group.id) === group) {
      this.groups.delete(group.id);
    }
    if (group.userId !== null) {
      const ofUser = this.byUser.get(group.userId);
      ofUser?.delete(group);
      if (ofUser?.size === 0) {
        this.byUser.delete(group.userId);
      }
    }
  }

  private schedule(): void {
    if (this.timer !== null || this.closed || this.groups.size === 0) {
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.checkAll().finally(() => this.schedule());
    }, this.intervalMs);
    this.timer.unref();
  }
}
