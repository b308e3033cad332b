export {
  runRevocationStoreConformance,
  type RevocationStoreConformanceOptions,
} from './revocation-store.conformance.js';
export {
  runSessionStoreConformance,
  type ConformanceRunner,
  type SessionStoreConformanceOptions,
} from './session-store.conformance.js';
