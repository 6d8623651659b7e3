// The app: a sign-in button while signed out, the user's email, a call to a
// protected API with the session's DPoP-bound token, and sign-out. The
// element ids are what the browser test reads.

import { isTesseraError } from '@tessera/client'
import { useSession, useTessera } from '@tessera/client/react'
import { useState } from 'react'

const END_REASONS = {
  signed_out: 'You signed out.',
  revoked:
    'Your session was ended elsewhere (signed out everywhere, a password reset, or an admin).',
  reused: 'Your session was ended because its refresh token was used twice.',
  expired: 'Your session expired.',
  network: 'The server could not be reached to renew your session.',
} as const

export function App({ apiUrl, callbackError }: { apiUrl: string; callbackError?: string }) {
  const client = useTessera()
  const { status, user, endReason } = useSession()
  const [result, setResult] = useState<string>()

  async function callApi() {
    setResult('…')
    try {
      // client.fetch attaches `Authorization: DPoP <token>` and a fresh proof
      // for the origins of `apis` only, refreshing the token first if needed.
      const response = await client.fetch(apiUrl)
      setResult(`${response.status} ${JSON.stringify(await response.json(), null, 2)}`)
    } catch (error) {
      setResult(isTesseraError(error) ? `${error.code}: ${error.message}` : String(error))
    }
  }

  if (status === 'loading') return <p id="status">Loading…</p>

  if (status === 'signed_out') {
    return (
      <main>
        <h1>React + Tessera</h1>
        {callbackError && <p id="error">Sign-in failed: {callbackError}</p>}
        {endReason && <p id="end-reason">{END_REASONS[endReason]}</p>}
        <p id="status">You are signed out.</p>
        <button
          id="sign-in"
          type="button"
          onClick={() => client.signInWithRedirect({ returnTo: location.pathname })}
        >
          Sign in
        </button>
      </main>
    )
  }

  return (
    <main>
      <h1>React + Tessera</h1>
      <p id="status">
        Signed in as <strong id="user-email">{user.email}</strong>
      </p>
      <button id="call-api" type="button" onClick={callApi}>
        Call the API
      </button>{' '}
      <button id="sign-out" type="button" onClick={() => client.signOut()}>
        Sign out
      </button>{' '}
      <button
        id="sign-out-everywhere"
        type="button"
        onClick={() => client.signOut({ scope: 'global' })}
      >
        Sign out everywhere
      </button>
      {result !== undefined && <pre id="api-result">{result}</pre>}
    </main>
  )
}

/** Shown until VITE_TESSERA_CLIENT_ID is set. */
export function Setup({ issuer }: { issuer: string }) {
  return (
    <main>
      <h1>React + Tessera</h1>
      <p id="status">
        Register this app with the Tessera server at {issuer}, then set VITE_TESSERA_CLIENT_ID (see
        examples/README.md, "A React single-page app").
      </p>
    </main>
  )
}
