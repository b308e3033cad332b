export {
  runSessionStoreConformance,
  type ConformanceRunner,
  type SessionStoreConformanceOptions,
} from './session-store.conformance.js';
