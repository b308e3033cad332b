import type { SessionHijackSuspectedEvent } from '../events/session-event.js';
import type { ClientFingerprint, SessionRecord } from '../interfaces/session-store.interface.js';
import { agentOf, networkHash, networkOf, sameNetwork } from './client-fingerprint.js';
import type { SessionExchange } from './session-exchange.js';
import type { SessionRuntime } from './session-runtime.js';

/**
 * What hijack signals made of a request: `'same'` client (or nothing to compare); `'changed'`
 * (the new fingerprint is stored); `'reseal'` (changed, and the fingerprint travels in the
 * cookie: hand out a new one); `'ended'` (`policy: 'revoke'`: the session is over).
 */
export type ClientVerdict = 'same' | 'changed' | 'reseal' | 'ended';

type Changed = SessionHijackSuspectedEvent['changed'];

/** The fingerprint a login records, or `null` with hijack signals off. */
export function clientAtLogin(
  runtime: SessionRuntime,
  exchange: SessionExchange,
): ClientFingerprint | null {
  const signals = runtime.options.hijackSignals;
  if (signals === null) {
    return null;
  }
  const network = signals.network ? networkOf(exchange.clientAddress?.()) : null;
  return {
    agent: agentOf(exchange.header('user-agent')),
    network: network === null ? null : networkHash(network, runtime.options.keys.network),
    stepUp: false,
  };
}

/**
 * Compares the request's client with the fingerprint of the authenticated session it presented.
 * Only the parts known on both sides are compared. On a change, the new fingerprint is kept
 * (so the signal fires once per change, not on every request), then `hijack-suspected` is
 * emitted and the policy applied. Under `'log'`, with nobody listening, nothing is computed.
 */
export async function inspectClient(
  runtime: SessionRuntime,
  exchange: SessionExchange,
  record: SessionRecord,
): Promise<ClientVerdict> {
  const { events, options, persistence } = runtime;
  const signals = options.hijackSignals;
  const stored = record.client;
  if (signals === null || stored == null || record.userId === null) {
    return 'same';
  }
  if (signals.policy === 'log' && !events.observed) {
    return 'same';
  }
  const agent = agentOf(exchange.header('user-agent'));
  const network = signals.network ? networkOf(exchange.clientAddress?.()) : null;
  const keys = options.keys.network;
  const changed: Changed = [];
  if (stored.agent !== null && agent !== null && agent !== stored.agent) {
    changed.push('user-agent');
  }
  if (stored.network !== null && network !== null && !sameNetwork(stored.network, network, keys)) {
    changed.push('network');
  }
  if (changed.length === 0) {
    return 'same';
  }
  const { id: sessionId, userId } = record;
  const suspected = { type: 'hijack-suspected', sessionId, userId, changed } as const;
  if (signals.policy === 'revoke') {
    await persistence.end([sessionId], runtime.now());
    events.emit({ ...suspected, action: 'revoke' });
    events.emit({
      type: 'revoked',
      reason: 'hijack-suspected',
      userId,
      sessionIds: [sessionId],
      count: 1,
    });
    return 'ended';
  }
  record.client = {
    agent: agent ?? stored.agent,
    network: network === null ? stored.network : networkHash(network, keys),
    stepUp: stored.stepUp || signals.policy === 'step-up',
  };
  const reseal = await persistence.recordClient(record);
  events.emit({ ...suspected, action: signals.policy });
  return reseal ? 'reseal' : 'changed';
}
