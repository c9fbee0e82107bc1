import Table from 'cli-table3'

/** A cli-table3 table; colours and box borders only on a terminal, plain columns in pipes and CI logs. */
export function renderTable(head: string[], rows: string[][], stream: NodeJS.WriteStream = process.stdout): string {
  const table = stream.isTTY
    ? new Table({head, style: {head: ['bold'], border: ['grey']}})
    : new Table({
        head,
        style: {head: [], border: [], 'padding-left': 0, 'padding-right': 2},
        chars: {
          top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '',
          'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '',
        },
      })
  table.push(...rows)
  return table.toString()
}
