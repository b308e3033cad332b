import type {
  HijackPolicy,
  SessionModuleOptions,
} from '../interfaces/session-module-options.interface.js';
import { validateSync } from 'class-validator';
import { MemoryStore } from '../stores/memory-session.store.js';
import { HijackSignalsOptionsSchema } from './session-options.schema.js';

/** Hijack signals as resolved: on (with its policy), or `null` when off. */
export interface ResolvedHijackSignals {
  readonly policy: HijackPolicy;
  readonly network: boolean;
}

/** Whether the configured store can keep the fingerprint (and its changes). */
function storeKeepsClients(store: SessionModuleOptions['store']): boolean {
  return (
    store === undefined ||
    store === 'cookie' ||
    store instanceof MemoryStore ||
    typeof (store as { setClient?: unknown }).setClient === 'function'
  );
}

/** Problems of the `hijackSignals` option. */
export function hijackSignalsProblems(options: SessionModuleOptions): string[] {
  const value = options.hijackSignals;
  if (value === undefined || value === false) {
    return [];
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return ["hijackSignals must be false or an object such as { policy: 'log', network: true }"];
  }
  const problems = validateSync(Object.assign(new HijackSignalsOptionsSchema(), value)).flatMap(
    (error) => Object.values(error.constraints ?? {}),
  );
  if (!storeKeepsClients(options.store)) {
    problems.push(
      'hijackSignals needs a store that implements setClient() (the built-in stores do); implement it, or set hijackSignals: false',
    );
  }
  return problems;
}

/** On by default (`'log'`, network compared) wherever the store can keep the fingerprint. */
export function resolveHijackSignals(options: SessionModuleOptions): ResolvedHijackSignals | null {
  const value = options.hijackSignals;
  if (value === false || (value === undefined && !storeKeepsClients(options.store))) {
    return null;
  }
  return Object.freeze({ policy: value?.policy ?? 'log', network: value?.network ?? true });
}
