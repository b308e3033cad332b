import { Logger } from '@nestjs/common';
import type { RevocationStore } from '../interfaces/revocation-store.interface.js';
import type { SessionModuleOptions } from '../interfaces/session-module-options.interface.js';
import { MemoryRevocationStore } from './memory-revocation.store.js';

const logger = new Logger('SessionModule');

/**
 * The `RevocationStore` provider: the configured `revocationStore` (validated at boot to
 * implement the contract), else an in-process `MemoryRevocationStore`; `null` with a
 * server-side store. Under `NODE_ENV=production`, warns once at boot when stateless mode has
 * only an in-process store: a logout on one instance is then not seen by the others.
 */
export function revocationStoreFor(
  options: SessionModuleOptions,
  now: () => number,
): RevocationStore | null {
  if (options.store !== 'cookie') {
    return null;
  }
  const store =
    (options.revocationStore as RevocationStore | undefined) ?? new MemoryRevocationStore({ now });
  if (process.env.NODE_ENV === 'production' && store instanceof MemoryRevocationStore) {
    logger.warn(
      "store: 'cookie' runs without a shared revocation store: logouts and revocations are remembered by this process only, so on any other instance (or after a restart) a logged-out cookie keeps working until it expires. Pass revocationStore: new RedisStore({ client }) when the app runs more than one instance.",
    );
  }
  return store;
}
