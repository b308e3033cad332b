import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

/** What a subscription received: its results, or the errors it ended with. */
export interface SubscriptionOutcome {
  data: unknown[];
  errors: { message: string }[];
}

/** A graphql-ws client over a real socket whose handshake carries `headers`. */
export function connect(
  httpUrl: string,
  headers: Record<string, string> = {},
  connectionParams?: Record<string, unknown>,
): Client {
  class HandshakeSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers });
    }
  }
  return createClient({
    url: `${httpUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: HandshakeSocket,
    connectionParams,
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => undefined,
  });
}

/**
 * Runs `query` to its end on `client`. Errors arrive as a result with `errors` (Apollo's
 * graphql-ws server) or as an `error` message (Mercurius); both land in `errors`.
 */
export function run(client: Client, query: string): Promise<SubscriptionOutcome> {
  return new Promise((resolve) => {
    const outcome: SubscriptionOutcome = { data: [], errors: [] };
    client.subscribe<unknown>(
      { query },
      {
        next: (result) => {
          if (result.data !== undefined && result.data !== null) {
            outcome.data.push(result.data);
          }
          outcome.errors.push(...((result.errors ?? []) as { message: string }[]));
        },
        error: (error) => {
          outcome.errors.push(
            ...(Array.isArray(error)
              ? (error as { message: string }[])
              : [{ message: describe(error) }]),
          );
          resolve(outcome);
        },
        complete: () => resolve(outcome),
      },
    );
  });
}

/** One subscription on its own connection, closed afterwards. */
export async function subscribeOnce(
  httpUrl: string,
  query: string,
  headers: Record<string, string> = {},
  connectionParams?: Record<string, unknown>,
): Promise<SubscriptionOutcome> {
  const client = connect(httpUrl, headers, connectionParams);
  try {
    return await run(client, query);
  } finally {
    await client.dispose();
  }
}

/** A connection failure: an `Error`, or the socket's close event. */
function describe(error: unknown): string {
  if (error instanceof Error) {
    return error.message;
  }
  const { code, reason } = error as { code?: number; reason?: string };
  return `socket closed: ${code} ${reason}`;
}
