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

/**
 * What a route module receives: the config, the slice of the auth service it
 * uses (`Flows`, e.g. `AdminFlows`), and the access-token hook.
 */
export interface RouteDeps<Flows extends Partial<AuthService> = AuthService> {
  readonly config: Config
  readonly auth: Flows
  /** The onRequest hook of every route that needs an access token. */
  readonly authenticate: onRequestHookHandler
}
