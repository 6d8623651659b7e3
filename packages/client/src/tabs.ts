// The tabs of one browser share a session: a Web Lock makes their refreshes
// take turns (one refresh on the wire however many tabs ask at once) and a
// BroadcastChannel hands the new session, or the sign-out, to the others.

import type { TabCoordinator, TabMessage } from './types.ts'

/**
 * Web Locks and a BroadcastChannel named `name`. Without Web Locks the lock
 * is this tab's alone (a promise chain); without BroadcastChannel nothing is
 * shared (each tab refreshes for itself, which the server's grace window allows).
 *
 * @example
 * const tabs = browserTabs('tessera:https://auth.example.com')
 */
export function browserTabs(name: string): TabCoordinator {
  const locks = globalThis.navigator?.locks
  const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(name) : undefined
  const listeners = new Set<(message: TabMessage) => void>()
  const chains = new Map<string, Promise<unknown>>()
  if (channel !== undefined) {
    channel.onmessage = (event: MessageEvent<TabMessage>) => {
      for (const listener of listeners) listener(event.data)
    }
  }
  return {
    withLock<T>(lock: string, task: () => Promise<T>): Promise<T> {
      // The lock is held until the task's promise settles (Web Locks API §3.1).
      if (locks !== undefined) return locks.request(lock, task) as Promise<Awaited<T>> as Promise<T>
      const run = (chains.get(lock) ?? Promise.resolve()).then(task)
      chains.set(
        lock,
        run.catch(() => undefined),
      )
      return run
    },
    post: (message) => channel?.postMessage(message),
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    close: () => channel?.close(),
  }
}
