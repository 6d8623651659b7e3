import assert from 'node:assert/strict'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { createPrivateFile, describeOpenDir, makePrivateDir } from './private-files.ts'

const modeOf = (path: string): number => statSync(path).mode & 0o777

describe('private data files, whatever the umask', { skip: process.platform === 'win32' }, () => {
  const root = mkdtempSync(join(tmpdir(), 'tessera-private-'))
  let umask = 0
  // The most permissive umask: every bit of the result comes from Tessera.
  before(() => {
    umask = process.umask(0)
  })
  after(() => {
    process.umask(umask)
    rmSync(root, { recursive: true, force: true })
  })

  test('makePrivateDir creates the directory and its missing parents 0700', () => {
    const dir = join(root, 'a', 'b', 'data')
    makePrivateDir(dir)
    for (const path of [join(root, 'a'), join(root, 'a', 'b'), dir]) {
      assert.equal(modeOf(path), 0o700, path)
    }
    assert.equal(modeOf(root), 0o700, 'mkdtemp made it 0700; untouched either way')
  })

  test('makePrivateDir leaves an existing directory (and its parents) as they are', () => {
    const dir = join(root, 'existing')
    mkdirSync(dir, { mode: 0o755 })
    chmodSync(dir, 0o755)
    makePrivateDir(dir)
    assert.equal(modeOf(dir), 0o755)
    makePrivateDir(join(dir, 'inner'))
    assert.equal(modeOf(dir), 0o755)
    assert.equal(modeOf(join(dir, 'inner')), 0o700)
  })

  test('createPrivateFile creates an empty 0600 file and never touches an existing one', () => {
    const path = join(root, 'tessera.db')
    createPrivateFile(path)
    assert.equal(modeOf(path), 0o600)
    assert.equal(statSync(path).size, 0)
    const kept = join(root, 'kept.db')
    writeFileSync(kept, 'data', { mode: 0o640 })
    chmodSync(kept, 0o640)
    createPrivateFile(kept)
    assert.equal(modeOf(kept), 0o640)
    assert.equal(statSync(kept).size, 4)
  })

  test('describeOpenDir: undefined for 0700 or a missing dir; otherwise the chmod to run', () => {
    const dir = join(root, 'checked dir')
    assert.equal(describeOpenDir(dir), undefined, 'missing: it will be created 0700')
    mkdirSync(dir)
    for (const mode of [0o755, 0o750, 0o711, 0o701, 0o770]) {
      chmodSync(dir, mode)
      assert.equal(
        describeOpenDir(dir),
        `the data directory ${dir} is open to group or others (mode 0${mode.toString(8)}) and holds the database: run chmod 700 '${dir}'`,
      )
    }
    chmodSync(dir, 0o700)
    assert.equal(describeOpenDir(dir), undefined)
    const plain = join(root, 'plain')
    mkdirSync(plain, { mode: 0o755 })
    assert.match(describeOpenDir(plain) ?? '', new RegExp(`run chmod 700 ${plain}$`))
  })
})
