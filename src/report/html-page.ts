/** Text safe inside HTML elements and quoted attributes. */
export function escapeHtml(text: string): string {
  if (!/[&<>"']/.test(text)) return text
  return text.replace(/[&<>"']/g, (c) => `&#${c.codePointAt(0)};`)
}

/**
 * One self-contained HTML document: its styles inline, no script, no font or image fetched, so that the file opens
 * anywhere (a CI artifact, a file:// URL, a mail attachment) and looks the same without a network.
 */
export function htmlPage(options: {title: string; style: string; body: string; refreshSeconds?: number}): string {
  const {head, tail} = htmlPageAround(options)
  return `${head}${options.body}${tail}`
}

/** The page of htmlPage() around its body, for a body written in pieces (a status page of 100,000 checks). */
export function htmlPageAround(options: {title: string; style: string; refreshSeconds?: number}): {head: string; tail: string} {
  const head = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    // No requests of any kind from the page: nothing to load, nothing to leak.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    ...(options.refreshSeconds === undefined ? [] : [`<meta http-equiv="refresh" content="${options.refreshSeconds}">`]),
    `<title>${escapeHtml(options.title)}</title>`,
    `<style>${options.style}</style>`,
    '</head>',
    '<body>',
  ].join('\n')
  return {head, tail: '</body>\n</html>'}
}
