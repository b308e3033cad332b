export {
  runSessionStoreConformance,
  type ConformanceRunner,
  type SessionStoreConformanceOptions,
} from './session-store.conformance.js';
export { PausingStore, type HeldCalls, type PausableMethod } from './pausing-session.store.js';
