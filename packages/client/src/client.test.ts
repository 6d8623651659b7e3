import assert from 'node:assert/strict'
import { afterEach, describe, test } from 'node:test'
import {
  domError,
  FakeEngine,
  type FakeWebAuthn,
  installWebAuthn,
  tokenResponse,
  user,
} from '../test/support/fake-engine.ts'
import { normalizeOptions, type SignInResult, TesseraClient } from './client.ts'
import { isTesseraError, TesseraError } from './errors.ts'
import type { ClientOptions } from './types.ts'

const MFA_TOKEN = 'm'.repeat(43)
const CHALLENGE_ID = 'c'.repeat(43)
const requestOptions = { challenge: 'Zm9v', rpId: 'auth.example.com', challengeId: CHALLENGE_ID }
const creationOptions = {
  challenge: 'Zm9v',
  rp: { name: 'Tessera' },
  user: { id: 'dTE', name: 'ada@example.com', displayName: 'Ada' },
  pubKeyCredParams: [{ alg: -7, type: 'public-key' }],
  challengeId: CHALLENGE_ID,
}
/** What the fake WebAuthn's assertion encodes to. */
const assertion = {
  id: 'AQID',
  rawId: 'AQID',
  type: 'public-key',
  response: {
    clientDataJSON: 'e30',
    authenticatorData: 'BAUG',
    signature: '-_-_',
    userHandle: 'dTE',
  },
  clientExtensionResults: {},
}

function setup(mode: 'cookie' | 'oauth' = 'cookie') {
  const engine = new FakeEngine(mode)
  return { engine, client: new TesseraClient(engine) }
}

const serverError = (code: string, status: number) =>
  new TesseraError({ code, status, message: `server said ${code}` })

const rejectsWith = (code: string) => (error: unknown) => {
  assert.ok(isTesseraError(error, code), `expected ${code}, got ${String(error)}`)
  return true
}

describe('normalizeOptions', () => {
  test('defaults to cookie mode and drops the trailing slash of the issuer', () => {
    const options = normalizeOptions({ issuer: 'https://auth.example.com/' })
    assert.equal(options.issuer, 'https://auth.example.com')
    assert.equal(options.mode, 'cookie')
    assert.equal(
      normalizeOptions({ issuer: 'http://localhost:3000/tessera//' }).issuer,
      'http://localhost:3000/tessera',
    )
  })

  test('keeps the other options as given', () => {
    const fetch = globalThis.fetch
    const options = normalizeOptions({
      issuer: 'https://auth.example.com',
      mode: 'oauth',
      clientId: 'console',
      redirectUri: 'https://app.example.com/callback',
      postLogoutRedirectUri: 'https://app.example.com/',
      apis: ['https://api.example.com', 'https://app.example.com/api/'],
      refreshMargin: 30,
      maxOfflineRetries: 0,
      fetch,
    })
    assert.equal(options.clientId, 'console')
    assert.equal(options.fetch, fetch)
    assert.equal(options.refreshMargin, 30)
  })

  const refused: [string, unknown][] = [
    ['no options', undefined],
    ['no issuer', {}],
    ['a relative issuer', { issuer: '/auth' }],
    ['an issuer that is not a string', { issuer: new URL('https://auth.example.com') }],
    ['an issuer of another scheme', { issuer: 'ftp://auth.example.com' }],
    ['an issuer with a query', { issuer: 'https://auth.example.com/?tenant=1' }],
    ['an issuer with an empty query', { issuer: 'https://auth.example.com/?' }],
    ['an issuer with a fragment', { issuer: 'https://auth.example.com/#x' }],
    ['an issuer with credentials', { issuer: 'https://user:pw@auth.example.com' }],
    ['an unknown mode', { issuer: 'https://a.example', mode: 'implicit' }],
    [
      'oauth without clientId',
      { issuer: 'https://a.example', mode: 'oauth', redirectUri: 'https://b.example/cb' },
    ],
    [
      'oauth with an empty clientId',
      {
        issuer: 'https://a.example',
        mode: 'oauth',
        clientId: '',
        redirectUri: 'https://b.example/cb',
      },
    ],
    ['oauth without redirectUri', { issuer: 'https://a.example', mode: 'oauth', clientId: 'c' }],
    [
      'oauth with a relative redirectUri',
      { issuer: 'https://a.example', mode: 'oauth', clientId: 'c', redirectUri: '/cb' },
    ],
    [
      'oauth with a relative postLogoutRedirectUri',
      {
        issuer: 'https://a.example',
        mode: 'oauth',
        clientId: 'c',
        redirectUri: 'https://b.example/cb',
        postLogoutRedirectUri: '/',
      },
    ],
    [
      'oauth without DPoP',
      {
        issuer: 'https://a.example',
        mode: 'oauth',
        clientId: 'c',
        redirectUri: 'https://b.example/cb',
        dpop: false,
      },
    ],
    ['cookie mode with a clientId', { issuer: 'https://a.example', clientId: 'c' }],
    [
      'cookie mode with a redirectUri',
      { issuer: 'https://a.example', redirectUri: 'https://a.example/cb' },
    ],
    ['apis that is not an array', { issuer: 'https://a.example', apis: 'https://api.example' }],
    ['a relative api', { issuer: 'https://a.example', apis: ['/api'] }],
    ['a negative refreshMargin', { issuer: 'https://a.example', refreshMargin: -1 }],
    ['a NaN maxOfflineRetries', { issuer: 'https://a.example', maxOfflineRetries: Number.NaN }],
  ]
  for (const [name, options] of refused) {
    test(`throws a TypeError for ${name}`, () => {
      assert.throws(() => normalizeOptions(options as ClientOptions), TypeError)
    })
  }
})

describe('sign-in', () => {
  test('signUp posts the fields with a proof and adopts the token response', async () => {
    const { engine, client } = setup()
    engine.answer('POST /auth/signup', tokenResponse())
    const result = await client.signUp({
      email: 'ada@example.com',
      password: 'pw-12345',
      name: 'Ada',
    })
    assert.deepEqual(engine.requests, [
      {
        method: 'POST',
        path: '/auth/signup',
        body: { email: 'ada@example.com', password: 'pw-12345', name: 'Ada' },
        auth: false,
        proof: true,
      },
    ])
    assert.deepEqual(engine.adopted, [tokenResponse()])
    assert.deepEqual(result, { session: engine.session })
    assert.equal(result.session?.accessToken, 'at-1')
  })

  test('signUp without a name sends none; verification_sent becomes verificationSent', async () => {
    const { engine, client } = setup()
    engine.answer('POST /auth/signup', { status: 'verification_sent' })
    const result = await client.signUp({ email: 'ada@example.com', password: 'pw-12345' })
    assert.deepEqual(engine.requests[0]?.body, { email: 'ada@example.com', password: 'pw-12345' })
    assert.deepEqual(result, { session: null, verificationSent: true })
    assert.equal(engine.adopted.length, 0)
  })

  test('signInWithPassword: the MFA challenge becomes `mfa`, with no session', async () => {
    const { engine, client } = setup()
    engine.answer('POST /auth/login', {
      mfaRequired: true,
      mfaToken: MFA_TOKEN,
      methods: ['totp', 'passkey', 'recovery_code'],
    })
    const result: SignInResult = await client.signInWithPassword({
      email: 'ada@example.com',
      password: 'pw-12345',
    })
    assert.deepEqual(result, {
      session: null,
      mfa: { mfaToken: MFA_TOKEN, methods: ['totp', 'passkey', 'recovery_code'] },
    })
    assert.deepEqual(engine.requests[0], {
      method: 'POST',
      path: '/auth/login',
      body: { email: 'ada@example.com', password: 'pw-12345' },
      auth: false,
      proof: true,
    })
    assert.equal(engine.adopted.length, 0)
  })

  test('signInWithPassword: required enrolment becomes `mfaEnrollment`', async () => {
    const { engine, client } = setup()
    engine.answer('POST /auth/login', {
      mfaEnrollmentRequired: true,
      mfaToken: MFA_TOKEN,
      methods: ['totp'],
    })
    const result = await client.signInWithPassword({ email: 'a@example.com', password: 'pw-12345' })
    assert.deepEqual(result, {
      session: null,
      mfaEnrollment: { mfaToken: MFA_TOKEN, methods: ['totp'] },
    })
  })

  test('signInWithPassword passes the server refusal through', async () => {
    const { engine, client } = setup()
    engine.answer('POST /auth/login', serverError('invalid_credentials', 401))
    await assert.rejects(
      client.signInWithPassword({ email: 'a@example.com', password: 'wrong-pw' }),
      (error) => {
        assert.ok(isTesseraError(error, 'invalid_credentials'))
        return error.status === 401
      },
    )
  })

  test('signInWithOtp mails a code: POST /auth/otp/send, no proof', async () => {
    const { engine, client } = setup()
    engine.answer('POST /auth/otp/send', undefined)
    assert.equal(await client.signInWithOtp({ email: 'ada@example.com' }), undefined)
    assert.deepEqual(engine.requests, [
      {
        method: 'POST',
        path: '/auth/otp/send',
        body: { email: 'ada@example.com' },
        auth: false,
        proof: false,
      },
    ])
  })

  test('verifyOtp sends {email, code} or {token} with a proof', async () => {
    const { engine, client } = setup()
    engine.answer('POST /auth/otp/verify', tokenResponse())
    const byCode = await client.verifyOtp({ email: 'ada@example.com', code: '123456' })
    const byLink = await client.verifyOtp({ token: 't'.repeat(43) })
    assert.deepEqual(
      engine.requests.map(({ body, proof }) => ({ body, proof })),
      [
        { body: { email: 'ada@example.com', code: '123456' }, proof: true },
        { body: { token: 't'.repeat(43) }, proof: true },
      ],
    )
    assert.equal(byCode.session?.user.id, 'u1')
    assert.equal(byLink.session?.user.id, 'u1')
  })
})

describe('passkeys and the second step', () => {
  let webauthn: FakeWebAuthn | undefined
  afterEach(() => {
    webauthn?.restore()
    webauthn = undefined
  })

  test('signInWithPasskey: options, the dialog, then verify with the response and challengeId', async () => {
    webauthn = installWebAuthn()
    const { engine, client } = setup()
    engine.answer('POST /auth/passkeys/login/options', requestOptions)
    engine.answer('POST /auth/passkeys/login/verify', tokenResponse({ tokenType: 'DPoP' }))
    const result = await client.signInWithPasskey()
    assert.deepEqual(engine.requests, [
      {
        method: 'POST',
        path: '/auth/passkeys/login/options',
        body: undefined,
        auth: false,
        proof: false,
      },
      {
        method: 'POST',
        path: '/auth/passkeys/login/verify',
        body: { response: assertion, challengeId: CHALLENGE_ID },
        auth: false,
        proof: true,
      },
    ])
    assert.equal(result.session?.tokenType, 'DPoP')
    const { challengeId: _, ...json } = requestOptions
    assert.deepEqual(webauthn.parsed, [json])
  })

  test('signInWithPasskey conditional: passes mediation and signal on', async () => {
    webauthn = installWebAuthn({ conditional: true })
    const { engine, client } = setup()
    engine.answer('POST /auth/passkeys/login/options', requestOptions)
    engine.answer('POST /auth/passkeys/login/verify', tokenResponse())
    const signal = new AbortController().signal
    await client.signInWithPasskey({ mediation: 'conditional', signal })
    const options = webauthn.calls[0]?.options as CredentialRequestOptions
    assert.equal(options.mediation, 'conditional')
    assert.equal(options.signal, signal)
  })

  test('signInWithPasskey conditional without autofill: unsupported, and no challenge spent', async () => {
    webauthn = installWebAuthn({ conditional: false })
    const { engine, client } = setup()
    await assert.rejects(
      client.signInWithPasskey({ mediation: 'conditional' }),
      rejectsWith('unsupported'),
    )
    assert.deepEqual(engine.requests, [])
  })

  test('signInWithPasskey without WebAuthn: unsupported, no request', async () => {
    const { engine, client } = setup()
    await assert.rejects(client.signInWithPasskey(), rejectsWith('unsupported'))
    assert.deepEqual(engine.requests, [])
  })

  test('signInWithPasskey dismissed: passkey_cancelled, nothing verified', async () => {
    webauthn = installWebAuthn({ get: domError('NotAllowedError') })
    const { engine, client } = setup()
    engine.answer('POST /auth/passkeys/login/options', requestOptions)
    await assert.rejects(client.signInWithPasskey(), rejectsWith('passkey_cancelled'))
    assert.deepEqual(engine.routes, ['POST /auth/passkeys/login/options'])
  })

  test('verifyMfa with a code: POST /auth/mfa/verify with a proof, adopted', async () => {
    const { engine, client } = setup()
    engine.answer('POST /auth/mfa/verify', tokenResponse())
    const session = await client.verifyMfa({ mfaToken: MFA_TOKEN, method: 'totp', code: '123456' })
    await client.verifyMfa({ mfaToken: MFA_TOKEN, method: 'recovery_code', code: 'k7mq-2xrp' })
    assert.deepEqual(
      engine.requests.map(({ body, proof }) => ({ body, proof })),
      [
        { body: { mfaToken: MFA_TOKEN, method: 'totp', code: '123456' }, proof: true },
        { body: { mfaToken: MFA_TOKEN, method: 'recovery_code', code: 'k7mq-2xrp' }, proof: true },
      ],
    )
    assert.equal(session.accessToken, 'at-1')
    assert.equal(engine.adopted.length, 2)
  })

  test('verifyMfa with a passkey: options by mfaToken, then verify with the response', async () => {
    webauthn = installWebAuthn()
    const { engine, client } = setup()
    const { challengeId: _, ...options } = requestOptions
    engine.answer('POST /auth/mfa/passkey/options', options)
    engine.answer('POST /auth/mfa/verify', tokenResponse())
    await client.verifyMfa({ mfaToken: MFA_TOKEN, method: 'passkey' })
    assert.deepEqual(engine.requests, [
      {
        method: 'POST',
        path: '/auth/mfa/passkey/options',
        body: { mfaToken: MFA_TOKEN },
        auth: false,
        proof: false,
      },
      {
        method: 'POST',
        path: '/auth/mfa/verify',
        body: { mfaToken: MFA_TOKEN, method: 'passkey', response: assertion },
        auth: false,
        proof: true,
      },
    ])
  })

  test('verifyMfa passes invalid_code through', async () => {
    const { engine, client } = setup()
    engine.answer('POST /auth/mfa/verify', serverError('invalid_code', 400))
    await assert.rejects(
      client.verifyMfa({ mfaToken: MFA_TOKEN, method: 'totp', code: '000000' }),
      rejectsWith('invalid_code'),
    )
  })

  test('passkeys.register: options, create, verify with the name; recovery codes kept', async () => {
    webauthn = installWebAuthn()
    const { engine, client } = setup()
    const added = {
      id: 'AQID',
      name: 'Laptop',
      createdAt: '2026-01-01T00:00:00.000Z',
      lastUsedAt: null,
      deviceType: 'multiDevice',
      backedUp: true,
      recoveryCodes: ['aaaa-bbbb'],
    }
    engine.answer('POST /auth/passkeys/register/options', creationOptions)
    engine.answer('POST /auth/passkeys/register/verify', added)
    assert.deepEqual(await client.passkeys.register({ name: 'Laptop' }), added)
    const verify = engine.requests[1]
    assert.deepEqual(engine.requests[0], {
      method: 'POST',
      path: '/auth/passkeys/register/options',
      body: undefined,
      auth: true,
      proof: false,
    })
    assert.equal(verify?.path, '/auth/passkeys/register/verify')
    assert.equal(verify?.auth, true)
    const body = verify?.body as {
      response: { response: Record<string, unknown> }
      challengeId: string
      name: string
    }
    assert.equal(body.challengeId, CHALLENGE_ID)
    assert.equal(body.name, 'Laptop')
    assert.equal(body.response.response['attestationObject'], 'oA')
    assert.equal(webauthn.calls[0]?.kind, 'create')
  })

  test('passkeys.register without a name sends none', async () => {
    webauthn = installWebAuthn()
    const { engine, client } = setup()
    engine.answer('POST /auth/passkeys/register/options', creationOptions)
    engine.answer('POST /auth/passkeys/register/verify', {})
    await client.passkeys.register()
    assert.deepEqual(Object.keys(engine.requests[1]?.body ?? {}), ['response', 'challengeId'])
  })

  test('reauthenticate with a passkey: options (auth), then {method, response, challengeId}', async () => {
    webauthn = installWebAuthn()
    const { engine, client } = setup()
    await engine.adopt(tokenResponse())
    engine.answer('POST /auth/reauthenticate/passkey/options', requestOptions)
    engine.answer('POST /auth/reauthenticate', {
      accessToken: 'at-2',
      tokenType: 'Bearer',
      expiresIn: 900,
    })
    const session = await client.reauthenticate({ method: 'passkey' })
    assert.deepEqual(engine.requests, [
      {
        method: 'POST',
        path: '/auth/reauthenticate/passkey/options',
        body: undefined,
        auth: true,
        proof: false,
      },
      {
        method: 'POST',
        path: '/auth/reauthenticate',
        body: { method: 'passkey', response: assertion, challengeId: CHALLENGE_ID },
        auth: true,
        proof: false,
      },
    ])
    assert.equal(session.accessToken, 'at-2')
  })
})

describe('step-up', () => {
  test('reauthenticate with the password: the new token keeps the session user', async () => {
    const { engine, client } = setup()
    await engine.adopt(tokenResponse())
    engine.answer('POST /auth/reauthenticate', {
      accessToken: 'at-2',
      tokenType: 'DPoP',
      expiresIn: 600,
    })
    const session = await client.reauthenticate({ password: 'pw-12345' })
    assert.deepEqual(engine.requests, [
      {
        method: 'POST',
        path: '/auth/reauthenticate',
        body: { password: 'pw-12345' },
        auth: true,
        proof: false,
      },
    ])
    assert.deepEqual(engine.adopted.at(-1), {
      accessToken: 'at-2',
      tokenType: 'DPoP',
      expiresIn: 600,
      user,
    })
    assert.equal(session.accessToken, 'at-2')
  })

  test('reauthenticate with a code sends {method, code}', async () => {
    const { engine, client } = setup()
    await engine.adopt(tokenResponse())
    engine.answer('POST /auth/reauthenticate', {
      accessToken: 'at-2',
      tokenType: 'Bearer',
      expiresIn: 600,
    })
    await client.reauthenticate({ method: 'totp', code: '123456' })
    assert.deepEqual(engine.requests[0]?.body, { method: 'totp', code: '123456' })
  })

  test('reauthenticate when the session ended meanwhile: not_signed_in', async () => {
    const { engine, client } = setup()
    engine.answer('POST /auth/reauthenticate', {
      accessToken: 'at-2',
      tokenType: 'Bearer',
      expiresIn: 600,
    })
    await assert.rejects(
      client.reauthenticate({ password: 'pw-12345' }),
      rejectsWith('not_signed_in'),
    )
  })

  test('a change that needs a recent sign-in passes reauthentication_required through', async () => {
    const { engine, client } = setup()
    engine.answer('POST /auth/password', serverError('reauthentication_required', 403))
    await assert.rejects(
      client.updatePassword({ currentPassword: 'old-pw-1', newPassword: 'new-pw-12' }),
      (error) => {
        assert.ok(isTesseraError(error, 'reauthentication_required'))
        return error.status === 403
      },
    )
  })
})

interface Case {
  readonly name: string
  readonly call: (client: TesseraClient) => Promise<unknown>
  readonly route: string
  readonly body?: unknown
  readonly auth?: boolean
  readonly answer?: unknown
  readonly result?: unknown
}

const passkey = {
  id: 'AQID',
  name: 'Laptop',
  createdAt: '2026-01-01T00:00:00.000Z',
  lastUsedAt: null,
  deviceType: 'singleDevice',
  backedUp: false,
}
const activeSession = {
  id: 's1',
  createdAt: '2026-01-01T00:00:00.000Z',
  lastUsedAt: '2026-01-01T00:00:00.000Z',
  expiresAt: '2026-02-01T00:00:00.000Z',
  userAgent: null,
  ip: '127.0.0.1',
  current: true,
}
const consent = {
  clientId: 'billing',
  clientName: 'Billing',
  scopes: ['openid'],
  grantedAt: '2026-01-01T00:00:00.000Z',
}
const totp = { secret: 'JBSWY3DPEHPK3PXP', otpauthUrl: 'otpauth://totp/x', qrSvg: '<svg/>' }
const codes = { recoveryCodes: ['aaaa-bbbb', 'cccc-dddd'] }

const CASES: readonly Case[] = [
  {
    name: 'mfa.getFactors',
    call: (c) => c.mfa.getFactors(),
    route: 'GET /auth/mfa',
    auth: true,
    answer: { totp: true, passkeys: 1, recoveryCodes: 9 },
    result: { totp: true, passkeys: 1, recoveryCodes: 9 },
  },
  {
    name: 'mfa.enrollTotp',
    call: (c) => c.mfa.enrollTotp(),
    route: 'POST /auth/mfa/totp/enroll',
    auth: true,
    answer: totp,
    result: totp,
  },
  {
    name: 'mfa.confirmTotp',
    call: (c) => c.mfa.confirmTotp('123456'),
    route: 'POST /auth/mfa/totp/confirm',
    body: { code: '123456' },
    auth: true,
    answer: codes,
    result: codes,
  },
  {
    name: 'mfa.removeTotp',
    call: (c) => c.mfa.removeTotp(),
    route: 'DELETE /auth/mfa/totp',
    auth: true,
  },
  {
    name: 'mfa.regenerateRecoveryCodes',
    call: (c) => c.mfa.regenerateRecoveryCodes(),
    route: 'POST /auth/mfa/recovery-codes',
    auth: true,
    answer: codes,
    result: codes,
  },
  {
    name: 'mfa.startTotpEnrollment',
    call: (c) => c.mfa.startTotpEnrollment(MFA_TOKEN),
    route: 'POST /auth/mfa/enroll/totp',
    body: { mfaToken: MFA_TOKEN },
    answer: totp,
    result: totp,
  },
  {
    name: 'passkeys.list',
    call: (c) => c.passkeys.list(),
    route: 'GET /auth/passkeys',
    auth: true,
    answer: { passkeys: [passkey] },
    result: [passkey],
  },
  {
    name: 'passkeys.rename',
    call: (c) => c.passkeys.rename('a/b', 'Phone'),
    route: 'PATCH /auth/passkeys/a%2Fb',
    body: { name: 'Phone' },
    auth: true,
    answer: passkey,
    result: passkey,
  },
  {
    name: 'passkeys.remove',
    call: (c) => c.passkeys.remove('AQID'),
    route: 'DELETE /auth/passkeys/AQID',
    auth: true,
  },
  {
    name: 'sessions.list',
    call: (c) => c.sessions.list(),
    route: 'GET /auth/sessions',
    auth: true,
    answer: { sessions: [activeSession] },
    result: [activeSession],
  },
  {
    name: 'sessions.revoke',
    call: (c) => c.sessions.revoke('s1'),
    route: 'DELETE /auth/sessions/s1',
    auth: true,
  },
  {
    name: 'consents.list',
    call: (c) => c.consents.list(),
    route: 'GET /auth/consents',
    auth: true,
    answer: { consents: [consent] },
    result: [consent],
  },
  {
    name: 'consents.revoke',
    call: (c) => c.consents.revoke('billing'),
    route: 'DELETE /auth/consents/billing',
    auth: true,
  },
  {
    name: 'resetPasswordForEmail',
    call: (c) => c.resetPasswordForEmail('ada@example.com'),
    route: 'POST /auth/password/forgot',
    body: { email: 'ada@example.com' },
  },
  {
    name: 'resetPassword',
    call: (c) => c.resetPassword({ token: 't'.repeat(43), newPassword: 'new-pw-12' }),
    route: 'POST /auth/password/reset',
    body: { token: 't'.repeat(43), newPassword: 'new-pw-12' },
  },
  {
    name: 'resendVerification',
    call: (c) => c.resendVerification('ada@example.com'),
    route: 'POST /auth/email/verify/send',
    body: { email: 'ada@example.com' },
  },
  {
    name: 'updateEmail',
    call: (c) => c.updateEmail({ newEmail: 'new@example.com', currentPassword: 'pw-12345' }),
    route: 'POST /auth/email/change',
    body: { newEmail: 'new@example.com', currentPassword: 'pw-12345' },
    auth: true,
  },
  {
    name: 'updatePassword',
    call: (c) => c.updatePassword({ currentPassword: 'old-pw-1', newPassword: 'new-pw-12' }),
    route: 'POST /auth/password',
    body: { currentPassword: 'old-pw-1', newPassword: 'new-pw-12' },
    auth: true,
  },
]

describe('account and recovery routes', () => {
  for (const item of CASES) {
    test(`${item.name}: ${item.route}`, async () => {
      const { engine, client } = setup()
      const [method = '', path = ''] = item.route.split(' ')
      engine.answer(item.route, item.answer)
      assert.deepEqual(await item.call(client), item.result)
      assert.deepEqual(engine.requests, [
        { method, path, body: item.body, auth: item.auth === true, proof: false },
      ])
    })
  }

  test('mfa.confirmTotpEnrollment: a proof, the session adopted, the recovery codes returned', async () => {
    const { engine, client } = setup()
    engine.answer('POST /auth/mfa/enroll/totp/confirm', { ...tokenResponse(), ...codes })
    const result = await client.mfa.confirmTotpEnrollment({ mfaToken: MFA_TOKEN, code: '123456' })
    assert.deepEqual(engine.requests, [
      {
        method: 'POST',
        path: '/auth/mfa/enroll/totp/confirm',
        body: { mfaToken: MFA_TOKEN, code: '123456' },
        auth: false,
        proof: true,
      },
    ])
    assert.deepEqual(engine.adopted, [tokenResponse()])
    assert.deepEqual(result, { session: engine.session, recoveryCodes: codes.recoveryCodes })
  })
})

describe('the user', () => {
  const verified = { ...user, email: 'new@example.com', emailVerified: true }

  test('verifyEmail returns the user and updates the session when it is this user', async () => {
    const { engine, client } = setup()
    await engine.adopt(tokenResponse({ user: { ...user, emailVerified: false } }))
    engine.answer('POST /auth/email/verify', { user })
    assert.deepEqual(await client.verifyEmail('t'.repeat(43)), user)
    assert.deepEqual(engine.requests[0]?.body, { token: 't'.repeat(43) })
    assert.deepEqual(engine.usersSet, [user])
  })

  test('verifyEmail leaves a session of someone else, or none, alone', async () => {
    const { engine, client } = setup()
    engine.answer('POST /auth/email/verify', { user })
    await client.verifyEmail('t'.repeat(43))
    await engine.adopt(tokenResponse({ user: { ...user, id: 'u2' } }))
    await client.verifyEmail('t'.repeat(43))
    assert.deepEqual(engine.usersSet, [])
  })

  test('confirmEmailChange: POST /auth/email/change/confirm, USER_UPDATED with the new address', async () => {
    const { engine, client } = setup()
    await engine.adopt(tokenResponse())
    engine.answer('POST /auth/email/change/confirm', { user: verified })
    assert.deepEqual(await client.confirmEmailChange('t'.repeat(43)), verified)
    assert.deepEqual(engine.requests[0], {
      method: 'POST',
      path: '/auth/email/change/confirm',
      body: { token: 't'.repeat(43) },
      auth: false,
      proof: false,
    })
    assert.deepEqual(engine.usersSet, [verified])
  })

  test('getUser in cookie mode: GET /auth/me; setUser only when it changed', async () => {
    const { engine, client } = setup()
    await engine.adopt(tokenResponse())
    engine.answer('GET /auth/me', user)
    assert.deepEqual(await client.getUser(), user)
    assert.deepEqual(engine.usersSet, [])
    engine.answer('GET /auth/me', verified)
    assert.deepEqual(await client.getUser(), verified)
    assert.deepEqual(engine.usersSet, [verified])
    assert.deepEqual(
      engine.requests.map((request) => request.auth),
      [true, true],
    )
  })

  test('getUser in OAuth mode: /oauth/userinfo through engine.fetch, mapped onto the session user', async () => {
    const { engine, client } = setup('oauth')
    await engine.adopt(tokenResponse())
    engine.fetchAnswer = Response.json({
      sub: 'u1',
      name: 'Ada L.',
      email: 'ada@example.com',
      email_verified: true,
      updated_at: 1,
    })
    const got = await client.getUser()
    assert.equal(engine.fetches[0]?.input, 'https://auth.example.com/oauth/userinfo')
    assert.deepEqual(got, { ...user, name: 'Ada L.' })
    assert.deepEqual(engine.usersSet, [got])
    assert.deepEqual(engine.requests, [])
  })

  test('getUser in OAuth mode with only the openid scope: sub, and defaults', async () => {
    const { engine, client } = setup('oauth')
    engine.fetchAnswer = Response.json({ sub: 'u9' })
    assert.deepEqual(await client.getUser(), {
      id: 'u9',
      email: '',
      name: null,
      roles: [],
      emailVerified: false,
    })
  })

  test('getUser in OAuth mode: an OAuth error answer is a TesseraError with its code', async () => {
    const { engine, client } = setup('oauth')
    engine.fetchAnswer = Response.json(
      { error: 'invalid_token', error_description: 'the token expired' },
      { status: 401 },
    )
    await assert.rejects(client.getUser(), (error) => {
      assert.ok(isTesseraError(error, 'invalid_token'))
      return error.status === 401
    })
  })

  test('getUser in OAuth mode: an answer that is not userinfo JSON is bad_response', async () => {
    const { engine, client } = setup('oauth')
    engine.fetchAnswer = new Response('eyJ.encrypted.jwt', {
      headers: { 'content-type': 'application/jwt' },
    })
    await assert.rejects(client.getUser(), rejectsWith('bad_response'))
  })
})

describe('the session', () => {
  test('signOut defaults to local; global is passed on', async () => {
    const { engine, client } = setup()
    await client.signOut()
    await client.signOut({ scope: 'global' })
    assert.deepEqual(engine.signOuts, ['local', 'global'])
  })

  test('getSession, refreshSession, onAuthStateChange and fetch are the engine’s', async () => {
    const { engine, client } = setup()
    const session = await engine.adopt(tokenResponse())
    assert.equal(await client.getSession(), session)
    assert.equal(await client.refreshSession(), session)
    assert.equal(engine.refreshes, 1)
    const listener = () => {}
    const stop = client.onAuthStateChange(listener)
    assert.deepEqual(engine.listeners, [listener])
    stop()
    assert.deepEqual(engine.listeners, [])
    const { fetch } = client
    const init = { method: 'POST' }
    assert.equal(await fetch('https://api.example.com/x', init), engine.fetchAnswer)
    assert.deepEqual(engine.fetches, [{ input: 'https://api.example.com/x', init }])
  })
})

describe('modes', () => {
  test('OAuth mode: signInWithRedirect and handleRedirectCallback are the engine’s', async () => {
    const { engine, client } = setup('oauth')
    await client.signInWithRedirect({ loginHint: 'ada@example.com', returnTo: '/orders' })
    assert.deepEqual(engine.redirects, [{ loginHint: 'ada@example.com', returnTo: '/orders' }])
    const url = 'https://app.example.com/callback?code=c&state=s&iss=https%3A%2F%2Fauth.example.com'
    const { session, returnTo } = await client.handleRedirectCallback(url)
    assert.deepEqual(engine.callbacks, [url])
    assert.equal(session.user.id, 'u1')
    assert.equal(returnTo, '/back')
    await client.signInWithRedirect()
    assert.deepEqual(engine.redirects[1], {})
  })

  test('cookie mode refuses the redirect methods with unsupported', async () => {
    const { engine, client } = setup()
    await assert.rejects(client.signInWithRedirect(), rejectsWith('unsupported'))
    await assert.rejects(
      client.handleRedirectCallback('https://a.example/cb'),
      rejectsWith('unsupported'),
    )
    assert.deepEqual(engine.redirects, [])
    assert.deepEqual(engine.callbacks, [])
  })

  const COOKIE_ONLY: [string, (client: TesseraClient) => Promise<unknown>][] = [
    ['signUp', (c) => c.signUp({ email: 'a@example.com', password: 'pw-12345' })],
    [
      'signInWithPassword',
      (c) => c.signInWithPassword({ email: 'a@example.com', password: 'pw-12345' }),
    ],
    ['signInWithOtp', (c) => c.signInWithOtp({ email: 'a@example.com' })],
    ['verifyOtp', (c) => c.verifyOtp({ token: 't'.repeat(43) })],
    ['signInWithPasskey', (c) => c.signInWithPasskey()],
    ['verifyMfa', (c) => c.verifyMfa({ mfaToken: MFA_TOKEN, method: 'totp', code: '123456' })],
    ['verifyMfa passkey', (c) => c.verifyMfa({ mfaToken: MFA_TOKEN, method: 'passkey' })],
    ['mfa.getFactors', (c) => c.mfa.getFactors()],
    ['mfa.enrollTotp', (c) => c.mfa.enrollTotp()],
    ['mfa.confirmTotp', (c) => c.mfa.confirmTotp('123456')],
    ['mfa.removeTotp', (c) => c.mfa.removeTotp()],
    ['mfa.regenerateRecoveryCodes', (c) => c.mfa.regenerateRecoveryCodes()],
    ['mfa.startTotpEnrollment', (c) => c.mfa.startTotpEnrollment(MFA_TOKEN)],
    [
      'mfa.confirmTotpEnrollment',
      (c) => c.mfa.confirmTotpEnrollment({ mfaToken: MFA_TOKEN, code: '123456' }),
    ],
    ['passkeys.register', (c) => c.passkeys.register()],
    ['passkeys.list', (c) => c.passkeys.list()],
    ['passkeys.rename', (c) => c.passkeys.rename('AQID', 'x')],
    ['passkeys.remove', (c) => c.passkeys.remove('AQID')],
    ['reauthenticate', (c) => c.reauthenticate({ password: 'pw-12345' })],
    ['reauthenticate passkey', (c) => c.reauthenticate({ method: 'passkey' })],
    ['resetPasswordForEmail', (c) => c.resetPasswordForEmail('a@example.com')],
    ['resetPassword', (c) => c.resetPassword({ token: 't'.repeat(43), newPassword: 'new-pw-12' })],
    ['resendVerification', (c) => c.resendVerification('a@example.com')],
    ['verifyEmail', (c) => c.verifyEmail('t'.repeat(43))],
    [
      'updateEmail',
      (c) => c.updateEmail({ newEmail: 'b@example.com', currentPassword: 'pw-12345' }),
    ],
    ['confirmEmailChange', (c) => c.confirmEmailChange('t'.repeat(43))],
    [
      'updatePassword',
      (c) => c.updatePassword({ currentPassword: 'pw-12345', newPassword: 'new-pw-12' }),
    ],
    ['sessions.list', (c) => c.sessions.list()],
    ['sessions.revoke', (c) => c.sessions.revoke('s1')],
    ['consents.list', (c) => c.consents.list()],
    ['consents.revoke', (c) => c.consents.revoke('billing')],
  ]

  test('OAuth mode refuses every cookie-only method with unsupported, before any request', async () => {
    const { engine, client } = setup('oauth')
    for (const [name, call] of COOKIE_ONLY) {
      await assert.rejects(call(client), (error) => {
        assert.ok(isTesseraError(error, 'unsupported'), name)
        assert.match(error.message, /signInWithRedirect/)
        return true
      })
    }
    assert.deepEqual(engine.requests, [])
    assert.deepEqual(engine.adopted, [])
  })
})
