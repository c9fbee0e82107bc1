/** A URL as messages, reports and files show it: never with its password (`user:***@`). */
export function displayUrl(url: URL): string {
  if (!url.password) return url.href
  const shown = new URL(url.href)
  shown.password = '***'
  return shown.href
}
