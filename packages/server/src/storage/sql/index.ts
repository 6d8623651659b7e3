// The SQL storage backend: the public surface in one screen.

export { type DatabaseLocation, parseDatabaseUrl } from './dialect.ts'
export { createSqlStore, type SqlStoreOptions } from './store.ts'
