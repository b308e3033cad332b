import { describe, it } from '@jest/globals';
import { MemoryStore } from 'nest-secure-session';
import { runSessionStoreConformance } from '../lib/testing/index.js';

runSessionStoreConformance({
  name: 'MemoryStore',
  createStore: () => new MemoryStore(),
  reportsEvictions: true,
  reportsExpiry: true,
  runner: { describe, it },
  deviceBinding: true,
});
