// The React bindings over a fake client, rendered by the real react-dom in
// Node: the test components render nothing (they record what the hooks
// return), so the few DOM objects react-dom touches for an empty tree are
// enough, and React's act() flushes renders and effects.

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { act, createElement, type ReactNode, StrictMode } from 'react'
import { createRoot, type Root } from 'react-dom/client'
import { renderToString } from 'react-dom/server'
import { type SessionState, TesseraProvider, useSession, useTessera } from './react.ts'
import type {
  AuthChangeDetail,
  AuthChangeEvent,
  AuthChangeListener,
  Session,
  User,
} from './types.ts'

type Client = Parameters<typeof TesseraProvider>[0]['client']

// The part of a browser react-dom reads when it commits a tree without host nodes.
const fakeDocument = { nodeType: 9, addEventListener() {}, removeEventListener() {} }
const fakeWindow = { event: undefined, HTMLIFrameElement: class {}, document: fakeDocument }
Object.assign(fakeDocument, { defaultView: fakeWindow })
Object.assign(globalThis, { window: fakeWindow, IS_REACT_ACT_ENVIRONMENT: true })

function container() {
  return {
    nodeType: 1,
    nodeName: 'DIV',
    tagName: 'DIV',
    namespaceURI: 'http://www.w3.org/1999/xhtml',
    ownerDocument: fakeDocument,
    addEventListener() {},
    removeEventListener() {},
    getRootNode: () => fakeDocument,
    childNodes: [],
    firstChild: null,
  } as unknown as Element
}

const USER: User = { id: 'u1', email: 'ada@example.com', roles: ['user'], emailVerified: true }

function session(token: string, user: User = USER): Session {
  return { accessToken: token, tokenType: 'DPoP', expiresAt: 1_000_000, user }
}

/** A client whose getSession() answers when the test says, and whose events the test sends. */
function fakeClient(): {
  client: Client
  listeners: Set<AuthChangeListener>
  calls: { getSession: number }
  resolve: (session: Session | null) => void
  reject: (error: unknown) => void
  emit: (event: AuthChangeEvent, session: Session | null, detail?: AuthChangeDetail) => void
} {
  const listeners = new Set<AuthChangeListener>()
  const calls = { getSession: 0 }
  const pending: { resolve: (s: Session | null) => void; reject: (e: unknown) => void }[] = []
  const client = {
    getSession: () => {
      calls.getSession++
      return new Promise<Session | null>((resolve, reject) => pending.push({ resolve, reject }))
    },
    onAuthStateChange: (listener: AuthChangeListener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  } as unknown as Client
  return {
    client,
    listeners,
    calls,
    resolve: (value) => {
      for (const p of pending.splice(0)) p.resolve(value)
    },
    reject: (error) => {
      for (const p of pending.splice(0)) p.reject(error)
    },
    emit: (event, value, detail = {}) => {
      for (const listener of [...listeners]) listener(event, value, detail)
    },
  }
}

/** Renders `count` components under one provider; each records every state it renders. */
async function mount(client: Client, options: { count?: number; strict?: boolean } = {}) {
  const seen: SessionState[][] = Array.from({ length: options.count ?? 1 }, () => [])
  const clients: Client[] = []
  function Probe({ index }: { index: number }): ReactNode {
    seen[index]!.push(useSession())
    clients.push(useTessera())
    return null
  }
  const probes = seen.map((_, index) => createElement(Probe, { key: index, index }))
  let tree: ReactNode = createElement(TesseraProvider, { client }, ...probes)
  if (options.strict === true) tree = createElement(StrictMode, null, tree)
  const root: Root = createRoot(container())
  await act(async () => root.render(tree))
  const last = (index = 0) => seen[index]!.at(-1)!
  return { seen, clients, last, root, unmount: () => act(async () => root.unmount()) }
}

describe('useSession', () => {
  test('loading until getSession() answers, then signed in with the user; one getSession() and one listener', async () => {
    const fake = fakeClient()
    const view = await mount(fake.client)
    assert.equal(view.last().status, 'loading')
    assert.equal(view.last().session, null)
    assert.equal(fake.calls.getSession, 1)
    assert.equal(fake.listeners.size, 1)

    const current = session('a')
    await act(async () => fake.resolve(current))
    assert.deepEqual(view.last(), { status: 'signed_in', session: current, user: USER })
    await view.unmount()
  })

  test('getSession() with no session: signed out, without an end reason', async () => {
    const fake = fakeClient()
    const view = await mount(fake.client)
    await act(async () => fake.resolve(null))
    assert.deepEqual(view.last(), { status: 'signed_out', session: null, user: null })
    assert.equal('endReason' in view.last(), false)
    await view.unmount()
  })

  test('follows the events: refresh, user update, sign-out with its reason, sign-in again', async () => {
    const fake = fakeClient()
    const view = await mount(fake.client)
    await act(async () => fake.resolve(session('a')))

    const refreshed = session('b')
    await act(async () => fake.emit('TOKEN_REFRESHED', refreshed))
    assert.equal(view.last().session, refreshed)

    const renamed = { ...USER, name: 'Ada' }
    await act(async () => fake.emit('USER_UPDATED', session('b', renamed)))
    assert.equal(view.last().user?.name, 'Ada')

    await act(async () => fake.emit('SIGNED_OUT', null, { reason: 'revoked' }))
    assert.deepEqual(view.last(), {
      status: 'signed_out',
      session: null,
      user: null,
      endReason: 'revoked',
    })

    await act(async () => fake.emit('SIGNED_IN', session('c')))
    assert.equal(view.last().status, 'signed_in')
    assert.equal(view.last().endReason, undefined)
    await view.unmount()
  })

  test('an event newer than the pending getSession() wins over its late answer', async () => {
    const fake = fakeClient()
    const view = await mount(fake.client)
    const fresh = session('fresh')
    await act(async () => fake.emit('SIGNED_IN', fresh))
    await act(async () => fake.resolve(null))
    assert.equal(view.last().status, 'signed_in')
    assert.equal(view.last().session, fresh)
    await view.unmount()
  })

  test('a getSession() that rejects does not leave the app loading', async () => {
    const fake = fakeClient()
    const view = await mount(fake.client)
    await act(async () => fake.reject(new Error('offline')))
    assert.equal(view.last().status, 'signed_out')
    await view.unmount()
  })

  test('every component reads the same state object; unmounting removes the listener', async () => {
    const fake = fakeClient()
    const view = await mount(fake.client, { count: 3 })
    await act(async () => fake.resolve(session('a')))
    assert.equal(fake.calls.getSession, 1, 'one store per client')
    assert.equal(fake.listeners.size, 1)
    assert.equal(view.last(0), view.last(1))
    assert.equal(view.last(1), view.last(2))
    await view.unmount()
    assert.equal(fake.listeners.size, 0)
  })

  test('StrictMode (mount, unmount, mount again): one listener left, and the state arrives', async () => {
    const fake = fakeClient()
    const view = await mount(fake.client, { strict: true })
    assert.equal(fake.listeners.size, 1)
    await act(async () => fake.resolve(session('a')))
    assert.equal(view.last().status, 'signed_in')
    await act(async () => fake.emit('SIGNED_OUT', null, { reason: 'signed_out' }))
    assert.equal(view.last().endReason, 'signed_out')
    await view.unmount()
    assert.equal(fake.listeners.size, 0)
  })

  test('a provider mounted again later asks getSession() again (it may have missed events)', async () => {
    const fake = fakeClient()
    const first = await mount(fake.client)
    await act(async () => fake.resolve(session('a')))
    await first.unmount()
    const second = await mount(fake.client)
    assert.equal(second.last().status, 'signed_in', 'the last known state meanwhile')
    assert.equal(fake.calls.getSession, 2)
    await act(async () => fake.resolve(null))
    assert.equal(second.last().status, 'signed_out')
    await second.unmount()
  })

  test('on a server: loading, and the client is not called', () => {
    const fake = fakeClient()
    let state: SessionState | undefined
    function Probe(): ReactNode {
      state = useSession()
      return null
    }
    renderToString(createElement(TesseraProvider, { client: fake.client }, createElement(Probe)))
    assert.equal(state?.status, 'loading')
    assert.equal(fake.calls.getSession, 0)
    assert.equal(fake.listeners.size, 0)
  })

  test('outside a provider: an error that says where to put it', () => {
    function Probe(): ReactNode {
      useSession()
      return null
    }
    assert.throws(
      () => renderToString(createElement(Probe)),
      /useSession\(\) must be called inside <TesseraProvider client=\{\.\.\.\}>/,
    )
  })
})

describe('useTessera', () => {
  test('the provider’s client', async () => {
    const fake = fakeClient()
    const view = await mount(fake.client)
    assert.ok(view.clients.length > 0)
    for (const client of view.clients) assert.equal(client, fake.client)
    await view.unmount()
  })
})
