// The example's Vite configuration, and a programmatic build of it for tests
// (the browser test builds the app against the Tessera server it started).
// vite.config.ts is this configuration for `npx vite` and `npx vite build`.

import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import react from '@vitejs/plugin-react'
import { build, defaultClientConditions, type InlineConfig, type UserConfig } from 'vite'

const ROOT = fileURLToPath(new URL('.', import.meta.url))

/**
 * Inside this repository, @tessera/client is the workspace's package: its
 * `source` export (src/*.ts, which Vite compiles) instead of a dist/ that is
 * not built. A copy of the example outside, with the published package, uses
 * its dist/ as any app does.
 */
const WORKSPACE_CLIENT = existsSync(
  fileURLToPath(new URL('../../packages/client/src/index.ts', import.meta.url)),
)

/** What the app is configured with; unset members come from `VITE_*` variables, then defaults. */
export interface ReactExampleSettings {
  /** Tessera's `TESSERA_ISSUER` (VITE_TESSERA_ISSUER, default http://localhost:3000). */
  readonly issuer?: string
  /** The public client's id, from `tessera clients add` (VITE_TESSERA_CLIENT_ID). */
  readonly clientId?: string
  /** The protected API the button calls (VITE_API_URL, default the issuer's /oauth/userinfo). */
  readonly apiUrl?: string
  /** The path the app is served under (Vite's `base`, default `/`). */
  readonly base?: string
}

/**
 * The example's Vite configuration, with `settings` baked in over the
 * `VITE_*` variables.
 *
 * @example
 * export default defineConfig(reactExampleConfig())
 */
export function reactExampleConfig(settings: ReactExampleSettings = {}): UserConfig {
  const define: Record<string, string> = {}
  const vars = {
    VITE_TESSERA_ISSUER: settings.issuer,
    VITE_TESSERA_CLIENT_ID: settings.clientId,
    VITE_API_URL: settings.apiUrl,
  }
  for (const [name, value] of Object.entries(vars)) {
    if (value !== undefined) define[`import.meta.env.${name}`] = JSON.stringify(value)
  }
  return {
    root: ROOT,
    base: settings.base ?? '/',
    plugins: [react()],
    define,
    resolve: {
      conditions: WORKSPACE_CLIENT
        ? ['source', ...defaultClientConditions]
        : [...defaultClientConditions],
    },
    // http://localhost:5173/ is the redirect URI the README registers.
    server: { port: 5173, strictPort: true },
    preview: { port: 5173, strictPort: true },
  }
}

/** What {@link buildReactExample} needs: the settings, and where to write. */
export interface BuildReactExampleOptions extends ReactExampleSettings {
  readonly issuer: string
  readonly clientId: string
  /** An absolute directory: emptied, then the built app (index.html, assets/). */
  readonly outDir: string
}

/**
 * Builds the example for production into `outDir`, configured for `issuer`
 * and `clientId`; serve that directory as static files. The app registers
 * its own URL (`location.origin` + `base`) as redirect URI and post-logout
 * URI, so register those for the client.
 *
 * @example
 * await buildReactExample({ issuer: 'http://127.0.0.1:3000', clientId, outDir: '/tmp/spa' })
 */
export async function buildReactExample(options: BuildReactExampleOptions): Promise<void> {
  const { outDir, ...settings } = options
  const config: InlineConfig = {
    ...reactExampleConfig(settings),
    configFile: false,
    envDir: false,
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  }
  await build(config)
}
