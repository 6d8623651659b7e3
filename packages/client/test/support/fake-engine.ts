// A fake Engine for the flow methods' unit tests: it records every call and
// answers from canned answers, so client.ts is tested without the real
// engine (session.ts), its timers, tabs or network. Also a fake browser
// WebAuthn (navigator.credentials, PublicKeyCredential), the other global
// the flows touch.

import type {
  AuthChangeListener,
  Engine,
  RedirectOptions,
  RequestInit_,
  Session,
  TokenResponse,
  User,
} from '../../src/types.ts'

export interface RecordedRequest {
  readonly method: string
  readonly path: string
  /** As it would go on the wire (JSON), undefined without a body. */
  readonly body: unknown
  readonly auth: boolean
  readonly proof: boolean
}

/** A canned answer: a value, an error to reject with, or a function of the request. */
export type Answer = unknown | ((request: RecordedRequest) => unknown)

export const user: User = {
  id: 'u1',
  email: 'ada@example.com',
  name: 'Ada',
  roles: ['user'],
  emailVerified: true,
  createdAt: '2026-01-01T00:00:00.000Z',
}

export function tokenResponse(overrides: Partial<TokenResponse> = {}): TokenResponse {
  return { accessToken: 'at-1', tokenType: 'Bearer', expiresIn: 900, user, ...overrides }
}

export class FakeEngine implements Engine {
  readonly mode: 'cookie' | 'oauth'
  readonly issuer: string
  readonly requests: RecordedRequest[] = []
  readonly adopted: TokenResponse[] = []
  readonly usersSet: User[] = []
  readonly signOuts: ('local' | 'global')[] = []
  readonly fetches: { input: RequestInfo | URL; init: RequestInit | undefined }[] = []
  readonly redirects: RedirectOptions[] = []
  readonly callbacks: string[] = []
  readonly listeners: AuthChangeListener[] = []
  session: Session | null = null
  refreshes = 0
  fetchAnswer: Response = new Response(null, { status: 204 })
  readonly #answers = new Map<string, Answer>()

  constructor(mode: 'cookie' | 'oauth' = 'cookie', issuer = 'https://auth.example.com') {
    this.mode = mode
    this.issuer = issuer
  }

  /** The answer to `METHOD path` (e.g. `POST /auth/login`), used for every such request. */
  answer(route: string, answer: Answer): this {
    this.#answers.set(route, answer)
    return this
  }

  /** The requests as `METHOD path` lines, for short assertions. */
  get routes(): string[] {
    return this.requests.map((request) => `${request.method} ${request.path}`)
  }

  async request<T>(path: string, init: RequestInit_ = {}): Promise<T> {
    const recorded: RecordedRequest = {
      method: init.method ?? 'GET',
      path,
      body: init.body === undefined ? undefined : JSON.parse(JSON.stringify(init.body)),
      auth: init.auth === true,
      proof: init.proof === true,
    }
    this.requests.push(recorded)
    const route = `${recorded.method} ${path}`
    if (!this.#answers.has(route)) throw new Error(`no canned answer for ${route}`)
    const answer = this.#answers.get(route)
    const value = typeof answer === 'function' ? answer(recorded) : answer
    if (value instanceof Error) throw value
    return value as T
  }

  async adopt(response: TokenResponse): Promise<Session> {
    this.adopted.push(response)
    this.session = {
      accessToken: response.accessToken,
      tokenType: response.tokenType,
      expiresAt: 1_000_000 + response.expiresIn * 1000,
      user: response.user,
    }
    return this.session
  }

  async getSession(): Promise<Session | null> {
    return this.session
  }

  current(): Session | null {
    return this.session
  }

  async refresh(): Promise<Session | null> {
    this.refreshes += 1
    return this.session
  }

  async signOut(scope: 'local' | 'global'): Promise<void> {
    this.signOuts.push(scope)
    this.session = null
  }

  setUser(next: User): void {
    this.usersSet.push(next)
    if (this.session !== null) this.session = { ...this.session, user: next }
  }

  onAuthStateChange(listener: AuthChangeListener): () => void {
    this.listeners.push(listener)
    return () => {
      this.listeners.splice(this.listeners.indexOf(listener), 1)
    }
  }

  async fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    this.fetches.push({ input, init })
    return this.fetchAnswer
  }

  async startRedirect(options: RedirectOptions): Promise<void> {
    this.redirects.push(options)
  }

  async completeRedirect(url: string): Promise<{ session: Session; returnTo: string | undefined }> {
    this.callbacks.push(url)
    return { session: await this.adopt(tokenResponse()), returnTo: '/back' }
  }

  dispose(): void {}
}

// A fake WebAuthn: navigator.credentials and PublicKeyCredential on
// globalThis for one test, with what the page's code received recorded.

const bytes = (...values: number[]) => new Uint8Array(values).buffer

/** A credential as navigator.credentials.create resolves it, without toJSON (an older browser). */
export function fakeAttestation(): PublicKeyCredential {
  return {
    id: 'AQID',
    rawId: bytes(1, 2, 3),
    type: 'public-key',
    authenticatorAttachment: 'platform',
    getClientExtensionResults: () => ({ credProps: { rk: true } }),
    response: {
      clientDataJSON: bytes(123, 125),
      attestationObject: bytes(0xa0),
      getTransports: () => ['internal', 'hybrid'],
      getAuthenticatorData: () => bytes(9, 9),
      getPublicKey: () => bytes(0x30, 0x59),
      getPublicKeyAlgorithm: () => -7,
    },
  } as unknown as PublicKeyCredential
}

/** A credential as navigator.credentials.get resolves it, without toJSON. */
export function fakeAssertion(): PublicKeyCredential {
  return {
    id: 'AQID',
    rawId: bytes(1, 2, 3),
    type: 'public-key',
    authenticatorAttachment: null,
    getClientExtensionResults: () => ({}),
    response: {
      clientDataJSON: bytes(123, 125),
      authenticatorData: bytes(4, 5, 6),
      signature: bytes(0xfb, 0xff, 0xbf),
      userHandle: bytes(0x75, 0x31),
    },
  } as unknown as PublicKeyCredential
}

export interface FakeWebAuthnOptions {
  /** Whether PublicKeyCredential has the Level 3 parse*FromJSON statics (default true). */
  readonly parse?: boolean
  readonly conditional?: boolean
  /** What create/get resolve (a credential or null) or the error they reject with. */
  readonly create?: PublicKeyCredential | null | Error
  readonly get?: PublicKeyCredential | null | Error
}

export interface FakeWebAuthn {
  /** What navigator.credentials.create/get were called with. */
  readonly calls: { kind: 'create' | 'get'; options: CredentialCreationOptions }[]
  /** What parse*FromJSON were given (the JSON, without challengeId). */
  readonly parsed: unknown[]
  restore(): void
}

export function installWebAuthn(options: FakeWebAuthnOptions = {}): FakeWebAuthn {
  const calls: FakeWebAuthn['calls'] = []
  const parsed: unknown[] = []
  const api: Record<string, unknown> = function PublicKeyCredential() {} as never
  api['isConditionalMediationAvailable'] = async () => options.conditional === true
  if (options.parse !== false) {
    api['parseCreationOptionsFromJSON'] = (json: unknown) => {
      parsed.push(json)
      return { parsed: 'creation' }
    }
    api['parseRequestOptionsFromJSON'] = (json: unknown) => {
      parsed.push(json)
      return { parsed: 'request' }
    }
  }
  const outcome = (kind: 'create' | 'get') => async (init: CredentialCreationOptions) => {
    calls.push({ kind, options: init })
    const result = kind === 'create' ? options.create : options.get
    if (result instanceof Error) throw result
    return result === undefined ? (kind === 'create' ? fakeAttestation() : fakeAssertion()) : result
  }
  const navigator = Object.getOwnPropertyDescriptor(globalThis, 'navigator')
  const previousApi = Object.getOwnPropertyDescriptor(globalThis, 'PublicKeyCredential')
  Object.defineProperty(globalThis, 'navigator', {
    configurable: true,
    value: { credentials: { create: outcome('create'), get: outcome('get') } },
  })
  Object.defineProperty(globalThis, 'PublicKeyCredential', { configurable: true, value: api })
  return {
    calls,
    parsed,
    restore() {
      if (navigator === undefined) Reflect.deleteProperty(globalThis, 'navigator')
      else Object.defineProperty(globalThis, 'navigator', navigator)
      if (previousApi === undefined) Reflect.deleteProperty(globalThis, 'PublicKeyCredential')
      else Object.defineProperty(globalThis, 'PublicKeyCredential', previousApi)
    },
  }
}

/** A DOMException-like refusal (Node has DOMException; its name is what the code reads). */
export function domError(name: string): Error {
  return new DOMException('refused', name)
}
