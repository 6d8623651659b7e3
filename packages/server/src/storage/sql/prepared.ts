// Statements PostgreSQL keeps prepared. Kysely hands the driver only the
// text and the parameters of a statement, so the text carries the wish: a
// leading comment naming it. postgres.ts runs such a statement as a named
// prepared statement, parsed and planned once per connection instead of on
// every request (on a refresh, that halved the database's CPU and took a
// fifth off Tessera's; the Parse message and its answer are no longer sent).
// SQLite keeps every statement prepared already (node-sqlite.ts), and reads
// the comment as a comment.
//
// Only for statements of a hot path, whose text is one constant (a name
// must always stand for the same text on a connection), and whose columns
// are named rather than `*`: a prepared `select *` fails with "cached plan
// must not change result type" once a migration adds a column under a
// running instance.

import { type RawBuilder, sql } from 'kysely'

/** The comment a prepared statement starts with: `/*prepared:name*\/`. */
export const PREPARED_PREFIX = '/*prepared:'

/** The prefix of statement `name` (letters, digits and `_`), to start its `sql` template with. */
export function prepared(name: string): RawBuilder<unknown> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new TypeError(`bad prepared statement name: ${name}`)
  return sql.raw(`${PREPARED_PREFIX}${name}*/ `)
}

/** The server-side name of the prepared statement `text` asks for, or undefined. */
export function preparedName(text: string): string | undefined {
  if (!text.startsWith(PREPARED_PREFIX)) return undefined
  const end = text.indexOf('*/', PREPARED_PREFIX.length)
  return end < 0 ? undefined : `tessera_${text.slice(PREPARED_PREFIX.length, end)}`
}
