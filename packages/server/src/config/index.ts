// Configuration: one schema, parsed at boot, frozen, injected.

export { ALWAYS_RULES, PRODUCTION_RULES, renderConfigurationDoc, renderEnvExample } from './docs.ts'
export { ConfigError, describeConfig, type LoadConfigOptions, loadConfig } from './load.ts'
export {
  CONFIG_SCHEMA,
  type ConfigVariable,
  DEFAULT_LOGIN_RATE_LIMIT,
  type ParseContext,
  type ValueSource,
} from './schema.ts'
export type { Config, LoginRateLimit } from './types.ts'
