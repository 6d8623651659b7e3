// Imported first by main.ts, before any other module has queued a tick: keeps
// one process.nextTick entry alive so V8 stays on its fast path for every
// later one (see @tessera/jwt's tick-shape.ts: up to 20% of GET /auth/me's
// instructions otherwise, at random per process).

import { keepTickEntryShape } from '@tessera/jwt'

keepTickEntryShape()
