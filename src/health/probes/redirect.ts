import {maskUrl} from '../../report/mask.js'
import {ProbeFailure} from './errors.js'

export interface HttpRequest {
  url: URL
  method: string
  headers: Record<string, string>
  body?: string
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])
const BODY_HEADER = /^content-/i
const CREDENTIAL_HEADER = /^(authorization|proxy-authorization|cookie)$/i

/**
 * The request a response redirects to, made as browsers make it (the Fetch standard), or undefined when the response
 * is final (not a redirect, or one without a Location).
 */
export function redirectedRequest(request: HttpRequest, status: number, location: unknown): HttpRequest | undefined {
  if (!REDIRECT_STATUSES.has(status) || typeof location !== 'string') return undefined
  const from = maskUrl(request.url)
  let url: URL
  try {
    url = new URL(location, request.url)
  } catch {
    throw new ProbeFailure('protocol', `${from} redirects to "${location}", which is not a URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ProbeFailure('protocol', `${from} redirects to ${maskUrl(url)}, which is not HTTP`)
  }
  // 303 means "GET the answer there"; 301/302 after a POST became a GET in every browser, and the standard followed.
  const asGet = (status === 303 && request.method !== 'HEAD') || ((status === 301 || status === 302) && request.method === 'POST')
  let headers = asGet ? without(request.headers, BODY_HEADER) : request.headers
  // Credentials meant for one origin are not handed to another.
  if (url.origin !== request.url.origin) headers = without(headers, CREDENTIAL_HEADER)
  return asGet ? {url, method: 'GET', headers} : {...request, url, headers}
}

function without(headers: Record<string, string>, name: RegExp): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([header]) => !name.test(header)))
}
