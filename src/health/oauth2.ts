import {Agent, request} from 'undici'

import {maskUrl} from '../report/mask.js'
import {ProbeFailure, classify} from './probes/errors.js'

export interface OAuth2Settings {
  tokenUrl: URL
  clientId: string
  clientSecret: string
  scopes: string[]
  insecure: boolean
}

/** A token is asked for again this long before it expires, so that no probe goes out with one about to lapse. */
const EARLY_MS = 10_000

/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4), as Gatus's `client.oauth2`: the client authenticates with HTTP Basic
 * (§2.3.1), the token is kept until shortly before `expires_in` and shared by every probe of the endpoint (one request
 * at a time: concurrent probes wait for the same one). Returns the Authorization header's value.
 */
export function oauth2ClientCredentials(settings: OAuth2Settings): (signal: AbortSignal) => Promise<string> {
  let current: {value: string; expiresAt: number} | undefined
  let pending: Promise<{value: string; expiresAt: number}> | undefined
  return async (signal) => {
    if (current && current.expiresAt > Date.now()) return current.value
    pending ??= fetchToken(settings, signal).finally(() => (pending = undefined))
    current = await pending
    return current.value
  }
}

async function fetchToken(settings: OAuth2Settings, signal: AbortSignal): Promise<{value: string; expiresAt: number}> {
  const where = maskUrl(settings.tokenUrl)
  const form = new URLSearchParams({grant_type: 'client_credentials', scope: settings.scopes.join(' ')})
  const basic = Buffer.from(`${encodeURIComponent(settings.clientId)}:${encodeURIComponent(settings.clientSecret)}`).toString('base64')
  let status: number
  let text: string
  try {
    const response = await request(settings.tokenUrl, {
      method: 'POST',
      headers: {authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json'},
      body: form.toString(),
      signal,
      ...(settings.insecure ? {dispatcher: new Agent({connect: {rejectUnauthorized: false}})} : {}),
    })
    status = response.statusCode
    text = await response.body.text()
  } catch (error) {
    if (signal.aborted) throw error
    const {code, message} = classify(error)
    throw new ProbeFailure(code, `oauth2 token from ${where}: ${message}`)
  }
  if (status !== 200) throw new ProbeFailure('auth', `oauth2 token from ${where}: HTTP ${status} (${text.slice(0, 120).replace(/\s+/g, ' ')})`)
  let token: {access_token?: unknown; token_type?: unknown; expires_in?: unknown}
  try {
    token = JSON.parse(text)
  } catch {
    token = {}
  }
  if (typeof token.access_token !== 'string') throw new ProbeFailure('auth', `oauth2 token from ${where}: the answer has no access_token`)
  const type = typeof token.token_type === 'string' && token.token_type.toLowerCase() !== 'bearer' ? token.token_type : 'Bearer'
  const lifetime = typeof token.expires_in === 'number' ? token.expires_in * 1000 : Number.POSITIVE_INFINITY
  return {value: `${type} ${token.access_token}`, expiresAt: Date.now() + lifetime - EARLY_MS}
}
