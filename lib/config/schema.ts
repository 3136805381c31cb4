import { DURATION_PATTERN, RATE_PATTERN, SIZE_PATTERN } from './units.js';

// The config file's shape. additionalProperties: false everywhere, so a typo is refused with the
// likely intended key instead of being silently ignored.

const secretRef = { type: 'string', pattern: '^\\$\\{(env|file):[^}]+\\}$' };
const rate = { type: 'string', pattern: RATE_PATTERN };
const duration = { type: 'string', pattern: DURATION_PATTERN };
const size = { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'string', pattern: SIZE_PATTERN }] };
const listen = { anyOf: [{ type: 'integer', minimum: 0, maximum: 65535 }, { type: 'string', minLength: 1 }] };
const cidrs = { type: 'array', items: { type: 'string', minLength: 1 } };
// PEM files, read at start (paths relative to the config file).
const tls = { type: 'object', additionalProperties: false, required: ['cert', 'key'], properties: { cert: { type: 'string', minLength: 1 }, key: { type: 'string', minLength: 1 } } };
export const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';

export const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    listen,
    upstream: { type: 'string', pattern: '^https?://' },
    upstreamTimeout: duration,
    dataDir: { type: 'string', minLength: 1 },
    policies: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
    logLevel: { enum: ['error', 'warn', 'info', 'debug'] },
    tls,
    // Both listeners: slow or oversized clients are cut off (lib/http/server.ts).
    server: {
      type: 'object',
      additionalProperties: false,
      properties: {
        headersTimeout: duration,
        requestTimeout: duration,
        keepAliveTimeout: duration,
        maxHeaderSize: size,
        maxConnections: { type: 'integer', minimum: 1 },
      },
    },
    // Who may call the proxy listener (lib/callers/).
    callers: {
      type: 'object',
      propertyNames: { pattern: NAME_PATTERN },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['from'],
        properties: { from: { ...cidrs, minItems: 1 }, token: secretRef, description: { type: 'string' } },
      },
    },
    trustedProxies: cidrs,
    // The egress proxy: a second listener that agents get as HTTPS_PROXY (lib/transports/egress/).
    egress: {
      type: 'object',
      additionalProperties: false,
      properties: {
        listen,
        tunnel: { type: 'array', items: { type: 'string', minLength: 1 }, uniqueItems: true },
        ca: { type: 'object', additionalProperties: false, required: ['cert', 'key'], properties: { cert: { type: 'string', minLength: 1 }, key: secretRef } },
      },
    },
    robots: {
      type: 'object',
      propertyNames: { pattern: NAME_PATTERN },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['key'],
        properties: { key: secretRef, limit: rate, description: { type: 'string' } },
      },
    },
    apps: {
      type: 'object',
      propertyNames: { pattern: NAME_PATTERN },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['corpId', 'corpSecret', 'agentId', 'clientSecret'],
        properties: {
          corpId: { type: 'string', minLength: 1 },
          corpSecret: secretRef,
          agentId: { type: 'integer', minimum: 1 },
          clientSecret: secretRef,
          limit: rate,
          description: { type: 'string' },
        },
      },
    },
    // The bot WebSocket (lib/transports/bot/): the real secret stays here; agents log in with clientSecret.
    bots: {
      type: 'object',
      propertyNames: { pattern: NAME_PATTERN },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['botId', 'secret', 'clientSecret'],
        properties: { botId: { type: 'string', minLength: 1, maxLength: 128 }, secret: secretRef, clientSecret: secretRef, limit: rate, description: { type: 'string' } },
      },
    },
    botUpstream: { type: 'string', pattern: '^wss?://' },
    limits: {
      type: 'object',
      additionalProperties: false,
      properties: {
        global: rate,
        perCaller: rate,
        pacing: { type: 'object', additionalProperties: false, required: ['maxWait'], properties: { maxWait: duration } },
        maxBodyBytes: size,
        maxUploadBytes: size,
      },
    },
    admin: {
      type: 'object',
      additionalProperties: false,
      anyOf: [{ required: ['jwtSecret'] }, { required: ['jwks'] }],
      properties: {
        listen,
        allowPublic: { type: 'boolean' },
        tls,
        publicUrl: { type: 'string', pattern: '^https?://[^?#]+$' },
        jwtSecret: secretRef,
        jwks: {
          type: 'object',
          additionalProperties: false,
          required: ['url', 'issuer', 'audience'],
          properties: { url: { type: 'string', pattern: '^https?://' }, issuer: { type: 'string', minLength: 1 }, audience: { type: 'string', minLength: 1 } },
        },
      },
    },
    approvals: {
      type: 'object',
      additionalProperties: false,
      properties: {
        approvers: { type: 'array', items: { type: 'string', minLength: 1 }, uniqueItems: true },
        groups: { type: 'object', propertyNames: { pattern: NAME_PATTERN }, additionalProperties: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1, uniqueItems: true } },
        ttl: duration,
        maxPending: { type: 'integer', minimum: 1 },
        keepDecided: duration,
        deliverWithin: duration,
        notify: {
          type: 'object',
          additionalProperties: false,
          required: ['robot'],
          properties: { robot: { type: 'string', pattern: NAME_PATTERN }, linkTtl: duration },
        },
      },
    },
    reload: {
      type: 'object',
      additionalProperties: false,
      properties: { watch: { type: 'boolean' }, keep: { type: 'integer', minimum: 1, maximum: 100 } },
    },
    dedupe: {
      type: 'object',
      additionalProperties: false,
      properties: { enabled: { type: 'boolean' }, window: duration, maxEntries: { type: 'integer', minimum: 1 } },
    },
    heartbeat: {
      type: 'object',
      additionalProperties: false,
      required: ['robot', 'every'],
      properties: {
        robot: { type: 'string', pattern: NAME_PATTERN },
        every: duration,
        failAfter: { type: 'integer', minimum: 1 },
        alertRobot: { type: 'string', pattern: NAME_PATTERN },
      },
    },
    audit: {
      type: 'object',
      additionalProperties: false,
      properties: { enabled: { type: 'boolean' }, dir: { type: 'string', minLength: 1 }, retentionDays: { type: 'integer', minimum: 1 }, maxFileSize: size },
    },
    // Toward WeCom: retries, circuit breaker, 45009 cooldown (lib/upstream/guard.ts).
    resilience: {
      type: 'object',
      additionalProperties: false,
      properties: {
        retries: { type: 'integer', minimum: 0, maximum: 3 },
        baseDelay: duration,
        maxDelay: duration,
        budget: duration,
        breaker: { type: 'object', additionalProperties: false, properties: { failures: { type: 'integer', minimum: 1 }, halfOpenAfter: duration } },
        cooldown: duration,
      },
    },
  },
} as const;
