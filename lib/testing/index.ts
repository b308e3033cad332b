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
  runSessionStoreConformance,
  type ConformanceRunner,
  type SessionStoreConformanceOptions,
} from './session-store.conformance.js';
