// @tessera/client/react: the client's session as React state. The provider
// keeps one small external store per client, fed by onAuthStateChange and one
// getSession() when the first component subscribes; components read it with
// useSyncExternalStore, so every one of them sees the same state in the same
// render (no tearing) and the client's own tab and refresh logic stays the
// single source of truth. Written with createElement: the package's sources
// are .ts files Node runs as they are, without a JSX transform.

import {
  createContext,
  createElement,
  type ReactNode,
  useContext,
  useMemo,
  useSyncExternalStore,
} from 'react'
import type { TesseraClient } from './index.ts'
import type { AuthChangeListener, Session, SessionEndReason, User } from './types.ts'

/**
 * What {@link useSession} returns. A union on `status`: when it is
 * `signed_in`, `session` and `user` are set.
 */
export type SessionState =
  /** Until the client knows (the first getSession() after a reload may refresh: a round trip), and always on a server. */
  | {
      readonly status: 'loading'
      readonly session: null
      readonly user: null
      readonly endReason?: undefined
    }
  | {
      readonly status: 'signed_in'
      readonly session: Session
      readonly user: User
      readonly endReason?: undefined
    }
  | {
      readonly status: 'signed_out'
      readonly session: null
      readonly user: null
      /** Why the session ended, when it did while the app was open (`signed_out`, `revoked`, ...). */
      readonly endReason?: SessionEndReason
    }

/** The part of the client the hooks use: any client of `createClient()` fits. */
type SessionSource = Pick<TesseraClient, 'getSession' | 'onAuthStateChange'>

interface SessionStore {
  readonly subscribe: (onChange: () => void) => () => void
  readonly getSnapshot: () => SessionState
}

interface ContextValue {
  readonly client: TesseraClient
  readonly store: SessionStore
}

const LOADING: SessionState = Object.freeze({ status: 'loading', session: null, user: null })
const SIGNED_OUT: SessionState = signedOut(undefined)

function signedOut(endReason: SessionEndReason | undefined): SessionState {
  return Object.freeze(
    endReason === undefined
      ? { status: 'signed_out', session: null, user: null }
      : { status: 'signed_out', session: null, user: null, endReason },
  )
}

const Context = createContext<ContextValue | null>(null)
Context.displayName = 'TesseraContext'

/** One store per client, so that two providers of the same client (or a remount) share it. */
const stores = new WeakMap<SessionSource, SessionStore>()

function stateOf(session: Session | null): SessionState {
  return session === null
    ? SIGNED_OUT
    : Object.freeze({ status: 'signed_in', session, user: session.user })
}

function storeOf(client: SessionSource): SessionStore {
  const known = stores.get(client)
  if (known !== undefined) return known
  let state = LOADING
  const listeners = new Set<() => void>()
  let detach: (() => void) | undefined
  // Counts the client's events: a getSession() answer older than the last
  // event must not overwrite it (the event is newer news).
  let events = 0

  const set = (next: SessionState) => {
    if (next === state) return
    state = next
    for (const listener of [...listeners]) listener()
  }
  const onEvent: AuthChangeListener = (event, session, detail) => {
    events++
    if (event === 'SIGNED_OUT') {
      set(detail.reason === undefined ? SIGNED_OUT : signedOut(detail.reason))
    } else {
      set(stateOf(session))
    }
  }
  const attach = () => {
    detach = client.onAuthStateChange(onEvent)
    const before = events
    // Also after a re-attach (a remount): events may have been missed meanwhile.
    client.getSession().then(
      (session) => {
        if (events === before) set(stateOf(session))
      },
      () => {
        // getSession() reports a lost session through SIGNED_OUT; an error
        // here (offline after a reload) must not leave the app loading forever.
        if (events === before && state === LOADING) set(SIGNED_OUT)
      },
    )
  }

  const store: SessionStore = {
    subscribe(onChange) {
      listeners.add(onChange)
      if (detach === undefined) attach()
      return () => {
        listeners.delete(onChange)
        if (listeners.size === 0 && detach !== undefined) {
          detach()
          detach = undefined
        }
      }
    },
    getSnapshot: () => state,
  }
  stores.set(client, store)
  return store
}

const serverSnapshot = () => LOADING

function useContextValue(hook: string): ContextValue {
  const value = useContext(Context)
  if (value === null) {
    throw new Error(`${hook}() must be called inside <TesseraProvider client={...}>.`)
  }
  return value
}

/** The props of {@link TesseraProvider}. */
export interface TesseraProviderProps {
  /** The client of `createClient()`, created once, outside the component tree. */
  readonly client: TesseraClient
  readonly children?: ReactNode
}

/**
 * Makes `client` and its session available to {@link useSession} and
 * {@link useTessera} below it. Create the client once, at module level, not
 * in a component: a new client per render would start a new session store
 * each time.
 *
 * @example
 * import { createClient } from '@tessera/client'
 * import { TesseraProvider } from '@tessera/client/react'
 *
 * const client = createClient({
 *   issuer: 'https://auth.example.com',
 *   mode: 'oauth',
 *   clientId: 'spa',
 *   redirectUri: `${location.origin}/callback`,
 * })
 *
 * createRoot(document.getElementById('root')!).render(
 *   <TesseraProvider client={client}>
 *     <App />
 *   </TesseraProvider>,
 * )
 */
export function TesseraProvider({ client, children }: TesseraProviderProps): ReactNode {
  const value = useMemo(() => ({ client, store: storeOf(client) }), [client])
  return createElement(Context.Provider, { value }, children)
}

/**
 * The session of the nearest {@link TesseraProvider}'s client, kept current:
 * sign-in, each refresh, a sign-out in this tab or another, a session the
 * server ended (`endReason` says why). `loading` until the client knows.
 *
 * @example
 * function Header() {
 *   const { status, user, endReason } = useSession()
 *   if (status === 'loading') return <Spinner />
 *   if (status === 'signed_out') {
 *     return <SignIn notice={endReason === 'revoked' ? 'You were signed out elsewhere.' : undefined} />
 *   }
 *   return <p>Signed in as {user.email}</p>
 * }
 */
export function useSession(): SessionState {
  const { store } = useContextValue('useSession')
  return useSyncExternalStore(store.subscribe, store.getSnapshot, serverSnapshot)
}

/**
 * The nearest {@link TesseraProvider}'s client, for its methods.
 *
 * @example
 * function SignOutButton() {
 *   const client = useTessera()
 *   return <button type="button" onClick={() => client.signOut()}>Sign out</button>
 * }
 */
export function useTessera(): TesseraClient {
  return useContextValue('useTessera').client
}
