/**
 * Credentials never reach a message, report or file: a URL's password shows as `***` (`postgres://app:***@db/app`),
 * the user name stays, so that a reader still knows which login was meant.
 */
export function maskUrl(url: URL | string): string {
  if (typeof url === 'string') return maskCredentials(url)
  if (!url.password) return url.href
  const shown = new URL(url.href)
  shown.password = '***'
  return shown.href
}

// scheme://user:password@ — the user part stops at `:`, `/`, `@` or a space; the password at `/`, `@` or a space.
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]*):([^\s/@]+)@/gi

/** Every `scheme://user:password@` in a free text (an error from a library, a usage line) with the password masked. */
export function maskCredentials(text: string): string {
  return text.includes('@') ? text.replace(USERINFO, '$1$2:***@') : text
}
