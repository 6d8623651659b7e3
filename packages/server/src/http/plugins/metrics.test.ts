import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createMetrics } from './metrics.ts'

test('request durations: cumulative buckets, sum and count per series, in the exposition format', async () => {
  const metrics = createMetrics({ defaultMetrics: false })
  metrics.observeRequest('GET', '/auth/me', 200, 0.0004)
  metrics.observeRequest('GET', '/auth/me', 200, 0.003)
  metrics.observeRequest('GET', '/auth/me', 200, 7)
  metrics.observeRequest('POST', '/auth/login', 401, 0.001)
  const text = await metrics.registry.metrics()
  const line = (labels: string) =>
    new RegExp(`^tessera_http_request_duration_seconds_${labels}$`, 'm')
  assert.match(text, /^# TYPE tessera_http_request_duration_seconds histogram$/m)
  const me = 'method="GET",route="/auth/me",status_code="200"'
  assert.match(text, line(`bucket\\{${me},le="0.001"\\} 1`))
  assert.match(text, line(`bucket\\{${me},le="0.0025"\\} 1`))
  assert.match(text, line(`bucket\\{${me},le="0.005"\\} 2`))
  assert.match(text, line(`bucket\\{${me},le="5"\\} 2`))
  assert.match(text, line(`bucket\\{${me},le="\\+Inf"\\} 3`))
  assert.match(text, line(`sum\\{${me}\\} 7.0034`))
  assert.match(text, line(`count\\{${me}\\} 3`))
  // A bound is inclusive (le: less than or equal).
  const login = 'method="POST",route="/auth/login",status_code="401"'
  assert.match(text, line(`bucket\\{${login},le="0.001"\\} 1`))
  assert.match(text, line(`count\\{${login}\\} 1`))
})
