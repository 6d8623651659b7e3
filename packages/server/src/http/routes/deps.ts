// What every route module receives from buildApp.

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import type {
  FastifyBaseLogger,
  FastifyInstance,
  onRequestHookHandler,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify'
import type { AuthService } from '../../auth/types.ts'
import type { Config } from '../../config/types.ts'

/** The Fastify instance with TypeBox types on request and reply. */
export type TypedApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>

export interface RouteDeps {
  readonly config: Config
  readonly auth: AuthService
  /** The onRequest hook of every route that needs an access token. */
  readonly authenticate: onRequestHookHandler
}
