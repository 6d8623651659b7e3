// The entry: reads the settings Vite baked in, creates the one client of
// the app, completes a redirect back from Tessera's sign-in before the first
// render, and renders <App> under the provider.

import { createClient, isTesseraError, type TesseraClient } from '@tessera/client'
import { TesseraProvider } from '@tessera/client/react'
import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { App, Setup } from './App.tsx'

/** The settings, from `VITE_*` variables (.env.local, the shell, or buildReactExample). */
const env = import.meta.env as {
  readonly VITE_TESSERA_ISSUER?: string
  readonly VITE_TESSERA_CLIENT_ID?: string
  readonly VITE_API_URL?: string
}
const issuer = env.VITE_TESSERA_ISSUER || 'http://localhost:3000'
const clientId = env.VITE_TESSERA_CLIENT_ID || ''
// Tessera's userinfo endpoint is a protected API that answers other origins
// (CORS) and takes DPoP-bound tokens: a stand-in for yours.
const apiUrl = env.VITE_API_URL || `${issuer.replace(/\/+$/, '')}/oauth/userinfo`

const root = createRoot(document.getElementById('root')!)

if (clientId === '') {
  // No client registered yet: say how, rather than fail at the first click.
  root.render(<Setup issuer={issuer} />)
} else {
  // The page itself is the redirect URI (and where a sign-out comes back to),
  // so that `npx vite` needs no router; register it exactly as it is here.
  const appUrl = new URL(import.meta.env.BASE_URL, location.origin).href
  const client = createClient({
    issuer,
    mode: 'oauth',
    clientId,
    redirectUri: appUrl,
    postLogoutRedirectUri: appUrl,
    // The token goes to Tessera (userinfo) and to the API, and nowhere else.
    apis: [...new Set([new URL(issuer).origin, new URL(apiUrl).origin])],
  })
  void start(client)
}

async function start(client: TesseraClient): Promise<void> {
  let callbackError: string | undefined
  const params = new URLSearchParams(location.search)
  if (params.has('code') || params.has('error')) {
    // Once, before rendering: StrictMode runs effects twice, and a code can
    // be exchanged only once.
    try {
      const { returnTo } = await client.handleRedirectCallback()
      history.replaceState(null, '', returnTo ?? location.pathname)
    } catch (error) {
      callbackError = isTesseraError(error) ? `${error.code}: ${error.message}` : String(error)
      history.replaceState(null, '', location.pathname)
    }
  }
  root.render(
    <StrictMode>
      <TesseraProvider client={client}>
        <App apiUrl={apiUrl} callbackError={callbackError} />
      </TesseraProvider>
    </StrictMode>,
  )
}
