export { createFakeSession, FakeSession, type FakeSessionOptions } from './fake-session.js';
export {
  loginAs,
  loginAsBearer,
  type BearerLogin,
  type CookieLogin,
  type LoginAsOptions,
  type SessionApp,
} from './login-as.js';
export {
  runRevocationStoreConformance,
  type RevocationStoreConformanceOptions,
} from './revocation-store.conformance.js';
export {
  runSessionStoreConformance,
  type ConformanceRunner,
  type SessionStoreConformanceOptions,
} from './session-store.conformance.js';
export { PausingStore, type HeldCalls, type PausableMethod } from './pausing-session.store.js';
