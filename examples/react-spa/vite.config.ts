// `npx vite` (dev server on http://localhost:5173) and `npx vite build`
// (into dist/) in this folder; settings from VITE_* variables (.env.local).
import { defineConfig } from 'vite'
import { reactExampleConfig } from './build.ts'

export default defineConfig(reactExampleConfig())
