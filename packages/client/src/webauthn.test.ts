import assert from 'node:assert/strict'
import { afterEach, describe, test } from 'node:test'
import {
  domError,
  type FakeWebAuthn,
  fakeAssertion,
  fakeAttestation,
  installWebAuthn,
} from '../test/support/fake-engine.ts'
import { isTesseraError } from './errors.ts'
import {
  assertPasskeys,
  base64urlDecode,
  base64urlEncode,
  createPasskey,
  creationOptionsFromJson,
  credentialToJson,
  getPasskey,
  requestOptionsFromJson,
} from './webauthn.ts'

const text = (value: string) => new TextEncoder().encode(value)

// RFC 4648 §10 (base64 vectors; base64url differs only in - and _ and no padding).
const RFC_4648 = [
  ['', ''],
  ['f', 'Zg'],
  ['fo', 'Zm8'],
  ['foo', 'Zm9v'],
  ['foob', 'Zm9vYg'],
  ['fooba', 'Zm9vYmE'],
  ['foobar', 'Zm9vYmFy'],
] as const

// The options of POST /auth/passkeys/register/options, as SimpleWebAuthn writes them.
const creationJson = {
  challenge: 'Zm9vYmFy',
  rp: { name: 'Tessera', id: 'auth.example.com' },
  user: { id: 'dTE', name: 'ada@example.com', displayName: 'Ada' },
  pubKeyCredParams: [
    { alg: -8, type: 'public-key' },
    { alg: -7, type: 'public-key' },
  ],
  timeout: 300000,
  attestation: 'none',
  excludeCredentials: [{ id: 'AQID', type: 'public-key', transports: ['internal'] }],
  authenticatorSelection: { residentKey: 'required', userVerification: 'preferred' },
  extensions: { credProps: true },
  hints: [],
  challengeId: 'c'.repeat(43),
} as unknown as PublicKeyCredentialCreationOptionsJSON & { challengeId: string }

const requestJson = {
  challenge: 'Zm9v',
  rpId: 'auth.example.com',
  allowCredentials: [{ id: '-_-_', type: 'public-key' }],
  userVerification: 'required',
  timeout: 300000,
  challengeId: 'c'.repeat(43),
}

const attestationJson = {
  id: 'AQID',
  rawId: 'AQID',
  type: 'public-key',
  response: {
    clientDataJSON: 'e30',
    attestationObject: 'oA',
    transports: ['internal', 'hybrid'],
    authenticatorData: 'CQk',
    publicKey: 'MFk',
    publicKeyAlgorithm: -7,
  },
  authenticatorAttachment: 'platform',
  clientExtensionResults: { credProps: { rk: true } },
}

const assertionJson = {
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

describe('base64url', () => {
  test('encodes and decodes the RFC 4648 vectors, unpadded', () => {
    for (const [plain, encoded] of RFC_4648) {
      assert.equal(base64urlEncode(text(plain)), encoded)
      assert.deepEqual(base64urlDecode(encoded), text(plain))
    }
  })

  test('uses the URL-safe alphabet, for ArrayBuffers and views alike', () => {
    assert.equal(base64urlEncode(new Uint8Array([0xfb, 0xff, 0xbf]).buffer), '-_-_')
    assert.equal(base64urlEncode(new Uint8Array([0, 0xff, 0xfe, 0]).subarray(1, 3)), '__4')
    assert.deepEqual([...base64urlDecode('-_-_')], [0xfb, 0xff, 0xbf])
  })

  test('round-trips every byte value', () => {
    const all = Uint8Array.from({ length: 256 }, (_, index) => index)
    assert.deepEqual(base64urlDecode(base64urlEncode(all)), all)
  })

  test('tolerates padding and refuses what is not base64url', () => {
    assert.deepEqual(base64urlDecode('Zg=='), text('f'))
    for (const bad of ['Zm+v', 'Zm/v', 'A', 'Zm 9', 'Z===']) {
      assert.throws(() => base64urlDecode(bad), TypeError, bad)
    }
  })
})

describe('options from JSON (browsers without parse*FromJSON)', () => {
  test('creation options: challenge, user id and excluded ids become bytes; the rest is kept', () => {
    const { challengeId: _, ...json } = creationJson
    const options = creationOptionsFromJson(json)
    assert.deepEqual(options.challenge, text('foobar'))
    assert.deepEqual(options.user, {
      id: text('u1'),
      name: 'ada@example.com',
      displayName: 'Ada',
    })
    assert.deepEqual(options.excludeCredentials, [
      { id: new Uint8Array([1, 2, 3]), type: 'public-key', transports: ['internal'] },
    ])
    assert.deepEqual(options.pubKeyCredParams, json.pubKeyCredParams)
    assert.deepEqual(options.authenticatorSelection, json.authenticatorSelection)
    assert.equal(options.attestation, 'none')
  })

  test('creation options without excludeCredentials get an empty list', () => {
    const { excludeCredentials: _, ...json } = creationJson
    assert.deepEqual(creationOptionsFromJson(json).excludeCredentials, [])
  })

  test('request options: challenge and allowed ids become bytes; none allowed stays absent', () => {
    const options = requestOptionsFromJson(requestJson)
    assert.deepEqual(options.challenge, text('foo'))
    assert.deepEqual(options.allowCredentials, [
      { id: new Uint8Array([0xfb, 0xff, 0xbf]), type: 'public-key' },
    ])
    assert.equal(options.rpId, 'auth.example.com')
    const { allowCredentials: _, ...discoverable } = requestJson
    assert.equal('allowCredentials' in requestOptionsFromJson(discoverable), false)
  })
})

describe('credentialToJson', () => {
  test('encodes a registration as RegistrationResponseJSON when the browser has no toJSON', () => {
    assert.deepEqual(credentialToJson(fakeAttestation()), attestationJson)
  })

  test('encodes an assertion as AuthenticationResponseJSON, without a null attachment', () => {
    assert.deepEqual(credentialToJson(fakeAssertion()), assertionJson)
  })

  test("uses the browser's toJSON when it has one", () => {
    const credential = Object.assign(fakeAssertion(), { toJSON: () => assertionJson })
    assert.equal(credentialToJson(credential), assertionJson)
  })

  test('falls back when a password manager breaks toJSON (throws or answers something else)', () => {
    const throwing = Object.assign(fakeAssertion(), {
      toJSON: () => {
        throw new TypeError("'toJSON' called on an object that does not implement interface")
      },
    })
    assert.deepEqual(credentialToJson(throwing), assertionJson)
    const empty = Object.assign(fakeAssertion(), { toJSON: () => ({}) })
    assert.deepEqual(credentialToJson(empty), assertionJson)
  })

  test('leaves out the optional members a response cannot give', () => {
    const credential = fakeAttestation()
    Object.assign(credential.response, {
      getPublicKey: () => null,
      getPublicKeyAlgorithm: () => {
        throw new Error('not implemented')
      },
      getAuthenticatorData: undefined,
      getTransports: undefined,
    })
    assert.deepEqual(credentialToJson(credential).response, {
      clientDataJSON: 'e30',
      attestationObject: 'oA',
      transports: [],
    })
  })
})

describe('ceremonies', () => {
  let webauthn: FakeWebAuthn | undefined
  afterEach(() => {
    webauthn?.restore()
    webauthn = undefined
  })

  test('create: parseCreationOptionsFromJSON gets the JSON without challengeId', async () => {
    webauthn = installWebAuthn()
    const response = await createPasskey(creationJson)
    const { challengeId: _, ...json } = creationJson
    assert.deepEqual(webauthn.parsed, [json])
    assert.deepEqual(webauthn.calls, [
      { kind: 'create', options: { publicKey: { parsed: 'creation' } } },
    ])
    assert.deepEqual(response, attestationJson)
  })

  test('create without parseCreationOptionsFromJSON decodes the options itself', async () => {
    webauthn = installWebAuthn({ parse: false })
    const signal = new AbortController().signal
    await createPasskey(creationJson, signal)
    const [call] = webauthn.calls
    assert.equal(call?.options.signal, signal)
    assert.deepEqual(call?.options.publicKey?.challenge, text('foobar'))
    assert.equal('challengeId' in (call?.options.publicKey ?? {}), false)
  })

  test('get: parseRequestOptionsFromJSON, or the fallback, and the assertion as JSON', async () => {
    webauthn = installWebAuthn()
    assert.deepEqual(await getPasskey(requestJson), assertionJson)
    assert.deepEqual(webauthn.calls, [
      { kind: 'get', options: { publicKey: { parsed: 'request' } } },
    ])
    webauthn.restore()
    webauthn = installWebAuthn({ parse: false })
    await getPasskey(requestJson)
    const options = webauthn.calls[0]?.options as CredentialRequestOptions
    assert.deepEqual(options.publicKey?.challenge, text('foo'))
  })

  test('conditional mediation: passed on with the signal when autofill is available', async () => {
    webauthn = installWebAuthn({ conditional: true })
    const signal = new AbortController().signal
    await getPasskey(requestJson, { mediation: 'conditional', signal })
    const options = webauthn.calls[0]?.options as CredentialRequestOptions
    assert.equal(options.mediation, 'conditional')
    assert.equal(options.signal, signal)
  })

  test('conditional mediation without autofill is unsupported, before any dialog', async () => {
    webauthn = installWebAuthn({ conditional: false })
    await assert.rejects(getPasskey(requestJson, { mediation: 'conditional' }), (error) =>
      isTesseraError(error, 'unsupported'),
    )
    assert.equal(webauthn.calls.length, 0)
  })

  test('no WebAuthn at all is unsupported', async () => {
    await assert.rejects(assertPasskeys(), (error) => isTesseraError(error, 'unsupported'))
    await assert.rejects(createPasskey(creationJson), (error) =>
      isTesseraError(error, 'unsupported'),
    )
  })

  for (const name of ['NotAllowedError', 'AbortError', 'InvalidStateError']) {
    test(`${name} is passkey_cancelled`, async () => {
      webauthn = installWebAuthn({ get: domError(name), create: domError(name) })
      for (const run of [() => getPasskey(requestJson), () => createPasskey(creationJson)]) {
        await assert.rejects(run(), (error) => {
          assert.ok(isTesseraError(error, 'passkey_cancelled'))
          assert.equal(error.reason, name)
          return true
        })
      }
    })
  }

  test('an aborted signal is passkey_cancelled whatever the browser threw', async () => {
    webauthn = installWebAuthn({ get: new TypeError('aborted') })
    const controller = new AbortController()
    controller.abort()
    await assert.rejects(getPasskey(requestJson, { signal: controller.signal }), (error) => {
      assert.ok(isTesseraError(error, 'passkey_cancelled'))
      return error.reason === 'AbortError'
    })
  })

  test('a null credential is passkey_cancelled; a SecurityError is unsupported', async () => {
    webauthn = installWebAuthn({ get: null, create: domError('SecurityError') })
    await assert.rejects(getPasskey(requestJson), (error) =>
      isTesseraError(error, 'passkey_cancelled'),
    )
    await assert.rejects(createPasskey(creationJson), (error) => {
      assert.ok(isTesseraError(error, 'unsupported'))
      return error.reason === 'SecurityError'
    })
  })
})
