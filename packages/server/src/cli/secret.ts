// `tessera secret`: a strong random secret as base64url. For HS* it is as long
// as the hash output (RFC 7518 §3.2 sets that as the minimum key size); the
// default 32 bytes is also what TESSERA_MASTER_KEY takes.

import { randomBytes } from 'node:crypto'
import { type Command, InvalidArgumentError, Option } from 'commander'
import type { CliIo } from './io.ts'
import { printLine } from './output.ts'

const SECRET_BYTES = { HS256: 32, HS384: 48, HS512: 64 } as const
type HmacAlgorithm = keyof typeof SECRET_BYTES

/** A random secret of the size `alg` needs, base64url without padding. */
export function generateSecretText(alg: HmacAlgorithm = 'HS256'): string {
  return randomBytes(SECRET_BYTES[alg]).toString('base64url')
}

// TESSERA_HS_SECRETS is `kid:secret,kid:secret`: a kid may not hold either separator.
const KID = /^[A-Za-z0-9._~-]+$/

function parseKid(value: string): string {
  if (!KID.test(value)) {
    throw new InvalidArgumentError('a kid is letters, digits and . _ ~ - (no ":" or ",")')
  }
  return value
}

export function register(program: Command, io: CliIo): void {
  program
    .command('secret')
    .description(
      'print a strong random secret (base64url): an HS* signing secret, or TESSERA_MASTER_KEY with the default 32 bytes',
    )
    .addOption(
      new Option('--alg <alg>', 'HMAC algorithm the secret is for; sets its length')
        .choices(Object.keys(SECRET_BYTES))
        .default('HS256'),
    )
    .option('--kid <name>', 'print `kid:secret`, the form TESSERA_HS_SECRETS takes', parseKid)
    .addHelpText(
      'after',
      '\nLengths: HS256 32 bytes, HS384 48, HS512 64.\nExamples:\n  tessera secret                    # TESSERA_MASTER_KEY or an HS256 secret\n  tessera secret --alg HS512 --kid k1',
    )
    .action((options: { alg: HmacAlgorithm; kid?: string }) => {
      const secret = generateSecretText(options.alg)
      printLine(io, options.kid === undefined ? secret : `${options.kid}:${secret}`)
    })
}
