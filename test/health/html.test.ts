import {mkdtemp, readFile, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

import type {Page} from 'playwright-core'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'

import {startBackends} from '../../fixtures/servers/backends.mjs'
import type {Backends} from '../../fixtures/servers/backends.mjs'
import {launchChromium, pageProblems} from '../helpers/chromium.js'
import {fanout, until} from '../helpers/cli.js'
import {closedPort, httpServer} from '../helpers/servers.js'
import type {TestServer} from '../helpers/servers.js'
import {hasProgram} from '../helpers/system-program.js'

let backends: Backends
let https: TestServer
let dir: string
let file: string
beforeAll(async () => {
  backends = await startBackends({hosts: ['127.0.0.1']})
  https = await httpServer({certificate: 'self-signed'})
  dir = await mkdtemp(join(tmpdir(), 'fanout-html-'))
  file = join(dir, 'checks.yaml')
  const base = `http://127.0.0.1:${backends.port}`
  await writeFile(
    file,
    `checks:
  - {name: api, group: core, url: "${base}/health", conditions: ["[STATUS] == 200", "[BODY].status == UP"]}
  - {name: orders, group: core, url: "${base}/degraded", conditions: ["[BODY].status == UP"]}
  - {name: web, group: edge, url: "${https.url}/ok", insecure: true, conditions: ["[CERTIFICATE_EXPIRATION] > 48h"]}
  - {name: cache, group: data, url: "tcp://127.0.0.1:${await closedPort()}"}
`,
  )
})
afterAll(async () => {
  await backends.close()
  await https.close()
})

/** Each row of a status page as Chromium lays it out: what it says of its check. */
async function pageRows(view: Page, path: string) {
  await view.goto(`file://${path}`)
  const rows = await view.$$eval('tbody tr', (trs) =>
    trs.map((tr) => ({
      status: tr.getAttribute('data-status'),
      group: tr.children[0]?.textContent,
      name: tr.querySelector('.name')?.textContent,
      http: tr.children[3]?.textContent,
      tries: tr.children[6]?.textContent,
      why: tr.children[7]?.textContent,
      certificate: tr.children[8]?.textContent,
      bar: tr.querySelectorAll('.bar span').length > 0,
    })),
  )
  return {heading: await view.textContent('h1'), title: await view.title(), rows}
}

describe.runIf(hasProgram('chromium', 'chromium'))('--format html: the status page in headless Chromium', () => {
  it('one self-contained file, rewritten each --watch round, failures first, phases, why, certificate, sparklines', async () => {
    const page = join(dir, 'status.html')
    // Three rounds written: the sparklines then have three points.
    let writes = 0
    let lastWrite = 0
    const rounds = until(async () => {
      const changed = await stat(page).then((found) => found.mtimeMs, () => 0)
      if (changed !== lastWrite) {
        lastWrite = changed
        writes++
      }
      return writes >= 3
    }, 20_000)
    const run = await fanout(['healthcheck', '--file', file, '--format', 'html', '--output', page, '--watch', '1s', '--quiet'], {interruptWhen: rounds})
    expect(run.code).toBe(130)
    const html = await readFile(page, 'utf8')
    // Self-contained: nothing fetched at view time.
    expect(html).not.toMatch(/<(script|link|img)\b|url\(|https?:\/\/(?!127\.0\.0\.1)/)

    const browser = await launchChromium()
    try {
      const view = await browser.newPage({viewport: {width: 1400, height: 600}})
      const problems = pageProblems(view)
      await view.goto(`file://${page}`)
      const rows = await view.$$eval('tbody tr', (trs) =>
        trs.map((tr) => ({
          status: tr.getAttribute('data-status'),
          name: tr.querySelector('.name')?.textContent,
          why: tr.children[7]?.textContent,
          certificate: tr.children[8]?.textContent,
          bar: tr.querySelectorAll('.bar span').length,
          spark: tr.querySelectorAll('svg.spark polyline').length,
        })),
      )
      expect(rows.map((r) => r.status)).toEqual(['failed', 'failed', 'succeeded', 'succeeded'])
      expect(rows.slice(0, 2).map((r) => r.name).sort()).toEqual(['cache', 'orders'])
      expect(rows.find((r) => r.name === 'orders')!.why).toContain('condition: [BODY].status (DOWN) == UP')
      expect(rows.find((r) => r.name === 'cache')!.why).toContain('refused')
      expect(rows.find((r) => r.name === 'web')!.certificate).toMatch(/^\d+ d left$/)
      expect(rows.find((r) => r.name === 'api')!.bar).toBeGreaterThanOrEqual(3)
      for (const name of ['api', 'orders', 'web']) expect(rows.find((r) => r.name === name)!.spark).toBe(1)
      expect(await view.textContent('h1')).toBe('2 of 4 checks not healthy')
      await view.screenshot({path: join(dir, 'status.png'), fullPage: true})
      process.stderr.write(`status page screenshot: ${join(dir, 'status.png')}\n`)
      expect(problems).toEqual([])
    } finally {
      await browser.close()
    }
  }, 60_000)

  it('fanout merge --format html of 3 shards is the page one unsharded run writes: the same rows, outcomes, order', async () => {
    const whole = join(dir, 'whole.html')
    const unsharded = await fanout(['healthcheck', '--file', file, '--format', 'html', '--output', whole, '--quiet'])
    expect(unsharded.code).toBe(1)
    const shards = await Promise.all(
      [0, 1, 2].map(async (index) => {
        const shard = join(dir, `shard-${index}.json`)
        const run = await fanout(['healthcheck', '--file', file, '--shard', `${index}/3`, '--output', shard, '--json', '--quiet'])
        expect(run.code, run.stderr).toBeLessThan(2)
        return shard
      }),
    )
    const merged = join(dir, 'merged.html')
    const merge = await fanout(['merge', ...shards, '--format', 'html', '--output', merged])
    expect(merge.code, merge.stderr).toBe(1) // as the unsharded run: two checks unhealthy
    expect(merge.stdout).toBe('')
    const html = await readFile(merged, 'utf8')
    expect(html).not.toMatch(/<(script|link|img)\b|url\(|https?:\/\/(?!127\.0\.0\.1)/)

    const browser = await launchChromium()
    try {
      const view = await browser.newPage({viewport: {width: 1400, height: 600}})
      const problems = pageProblems(view)
      const one = await pageRows(view, whole)
      const joined = await pageRows(view, merged)
      expect(joined.rows.map((r) => r.name)).toEqual(['orders', 'cache', 'api', 'web'])
      expect(joined).toEqual(one)
      expect(joined.heading).toBe('2 of 4 checks not healthy')
      expect(problems).toEqual([])
    } finally {
      await browser.close()
    }
  }, 60_000)
})
