import {chromium} from 'playwright-core'
import type {Browser, Page} from 'playwright-core'

/** Debian's chromium, headless, with nothing of its own going to the network (no sync, updates, QUIC probes). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
}

/**
 * What a page did wrong, collected while it is open: console errors and warnings, uncaught exceptions, and any
 * request for something other than a local file (the pages fanout writes are self-contained).
 */
export function pageProblems(page: Page): string[] {
  const problems: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text())
  })
  page.on('pageerror', (error) => problems.push(error.message))
  page.on('request', (request) => {
    if (!request.url().startsWith('file:')) problems.push(`request to ${request.url()}`)
  })
  return problems
}
