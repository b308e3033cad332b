// The benchmark's variants, in report order. No imports: the report and the chart read this
// table without loading Nest or any session package.
//
//   platform  'express' (Nest's default adapter) or 'fastify' (@nestjs/platform-fastify)
//   bare      the variant without a session library it is measured against (ratio 1.00 = free)
//   anchor    the established package it replaces (nss variants only)
//   short     the column heading in the summary tables and the chart
//   redis     whether it talks to the benchmark's redis-server
//   baseline  (base-* variants only) the variant of this checkout it is the BENCH_BASELINE
//             build of: the same app and options, the library loaded from the baseline's build

export const VARIANTS = [
  {
    name: 'bare',
    label: 'bare Express (no session library)',
    short: 'bare',
    platform: 'express',
    kind: 'bare',
  },
  {
    name: 'bare-als',
    label: 'bare Express + `AsyncLocalStorage.run` per request',
    short: 'bare + ALS.run',
    platform: 'express',
    kind: 'bare-als',
    bare: 'bare',
  },
  {
    name: 'nss-memory',
    label: 'nest-secure-session, MemoryStore',
    short: 'nss memory',
    platform: 'express',
    kind: 'nss',
    store: 'memory',
    bare: 'bare',
    anchor: 'express-session',
  },
  {
    name: 'nss-redis',
    label: 'nest-secure-session, RedisStore (encryptAtRest on, the default)',
    short: 'nss Redis',
    platform: 'express',
    kind: 'nss',
    store: 'redis',
    redis: true,
    bare: 'bare',
    anchor: 'connect-redis',
  },
  {
    name: 'nss-redis-plain',
    label: 'nest-secure-session, RedisStore, `encryptAtRest: false`',
    short: 'nss Redis, no encryptAtRest',
    platform: 'express',
    kind: 'nss',
    store: 'redis',
    encryptAtRest: false,
    redis: true,
    bare: 'bare',
    anchor: 'connect-redis',
  },
  {
    name: 'nss-stateless',
    label: "nest-secure-session, store: 'cookie'",
    short: 'nss stateless',
    platform: 'express',
    kind: 'nss',
    store: 'cookie',
    bare: 'bare',
    anchor: 'iron-session',
  },
  {
    name: 'express-session',
    label: 'express-session, MemoryStore',
    short: 'express-session',
    platform: 'express',
    kind: 'express-session',
    store: 'memory',
    bare: 'bare',
  },
  {
    name: 'connect-redis',
    label: 'express-session + connect-redis',
    short: 'connect-redis',
    platform: 'express',
    kind: 'express-session',
    store: 'redis',
    redis: true,
    bare: 'bare',
  },
  {
    name: 'iron-session',
    label: 'iron-session v8',
    short: 'iron-session',
    platform: 'express',
    kind: 'iron-session',
    bare: 'bare',
  },
  {
    name: 'fastify-bare',
    label: 'bare Fastify (no session library)',
    short: 'bare',
    platform: 'fastify',
    kind: 'bare',
  },
  {
    name: 'nss-fastify-memory',
    label: 'nest-secure-session on Fastify, MemoryStore',
    short: 'nss memory',
    platform: 'fastify',
    kind: 'nss',
    store: 'memory',
    bare: 'fastify-bare',
    anchor: 'fastify-session',
  },
  {
    name: 'nss-fastify-redis',
    label: 'nest-secure-session on Fastify, RedisStore (encryptAtRest on)',
    short: 'nss Redis',
    platform: 'fastify',
    kind: 'nss',
    store: 'redis',
    redis: true,
    bare: 'fastify-bare',
    anchor: 'fastify-session-redis',
  },
  {
    name: 'nss-fastify-stateless',
    label: "nest-secure-session on Fastify, store: 'cookie'",
    short: 'nss stateless',
    platform: 'fastify',
    kind: 'nss',
    store: 'cookie',
    bare: 'fastify-bare',
    anchor: 'fastify-secure-session',
  },
  {
    name: 'fastify-session',
    label: '@fastify/session + @fastify/cookie, its memory store',
    short: '@fastify/session',
    platform: 'fastify',
    kind: 'fastify-session',
    store: 'memory',
    bare: 'fastify-bare',
  },
  {
    name: 'fastify-session-redis',
    label: '@fastify/session + @fastify/cookie + connect-redis',
    short: '@fastify/session + Redis',
    platform: 'fastify',
    kind: 'fastify-session',
    store: 'redis',
    redis: true,
    bare: 'fastify-bare',
  },
  {
    name: 'fastify-secure-session',
    label: '@fastify/secure-session (sealed cookie)',
    short: '@fastify/secure-session',
    platform: 'fastify',
    kind: 'fastify-secure-session',
    bare: 'fastify-bare',
  },
];

/**
 * The same nss variants on the BENCH_BASELINE build (bench/baseline.js): run only when
 * BENCH_BASELINE is set, reported as new ÷ baseline beside the variant they mirror.
 */
const BASELINE_OF = [
  'nss-memory',
  'nss-redis',
  'nss-redis-plain',
  'nss-stateless',
  'nss-fastify-memory',
];
export const BASELINE_VARIANTS = BASELINE_OF.map((name) => {
  const variant = VARIANTS.find((v) => v.name === name);
  return {
    ...variant,
    name: name.replace(/^nss-/, 'base-'),
    label: `baseline build: ${variant.label}`,
    short: `baseline ${variant.short.replace(/^nss /, '')}`,
    baseline: name,
  };
});
VARIANTS.push(...BASELINE_VARIANTS);

export const PLATFORMS = {
  express: 'Express (@nestjs/platform-express)',
  fastify: 'Fastify (@nestjs/platform-fastify)',
};

export function variantNamed(name) {
  return VARIANTS.find((variant) => variant.name === name);
}

/** The variants of this checkout (the base-* ones left out). */
export const CURRENT_VARIANTS = VARIANTS.filter((variant) => variant.baseline === undefined);
