import type { PropsWithChildren } from '@kitajs/html'
import { formatStoreTime, isoInstant } from '../src/lib/format.ts'

/** An instant as store time (`YYYY-MM-DD HH:mm`), with its ISO form for machines. */
export function StoreTime({ ms, timeZone }: { ms: number; timeZone: string }) {
  return (
    <time datetime={isoInstant(ms)} safe>
      {formatStoreTime(ms, timeZone)}
    </time>
  )
}

/** The text of a column header's markup (its tags dropped), for a cell's `data-label`. */
function headerText(markup: JSX.Element): string {
  return String(markup)
    .replace(/<[^>]*>/g, '')
    .trim()
}

/**
 * Gives the n-th `<td>` of a rendered row the n-th column's `data-label` (what a narrow screen
 * shows before the value, when the table is laid out as cards). A cell that already has a
 * `data-label`, or spans columns, is left as it is. `<td` only ever comes from markup the views
 * write: cell text is escaped.
 */
function labelCells(row: JSX.Element, labels: string[]): string {
  let column = 0
  return String(row).replace(/<td(?=[\s>])([^>]*)>/g, (cell, attributes: string) => {
    const label = labels[column]
    column += 1
    if (label === undefined || /\s(data-label|colspan)=/.test(attributes)) return cell
    return `<td${attributes} data-label="${label.replaceAll('"', '&#34;')}">`
  })
}

/**
 * A striped table; on a narrow screen (its box under 48rem) each row becomes a card whose cells
 * show their column's name (`data-label`, added here). With `empty`, that line instead when
 * there are no rows. `columns` are header markup written here, never user input; `rows` are
 * rendered `<tr>` elements (their cells escape their own text).
 */
export function Table({
  columns,
  rows,
  empty,
}: {
  columns: JSX.Element[]
  rows: JSX.Element[]
  empty?: string
}) {
  if (empty !== undefined && rows.length === 0) {
    return (
      <p class="empty" safe>
        {empty}
      </p>
    )
  }
  const labels = columns.map(headerText)
  return (
    <div class="overflow-auto table-cards">
      <table class="striped">
        <thead>
          <tr>
            {columns.map((c) => (
              <th scope="col">{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>{rows.map((row) => labelCells(row, labels))}</tbody>
      </table>
    </div>
  )
}

/**
 * A fragment of the settings page that reloads itself: its content, then a Refresh button that
 * replaces the whole `#id` element with a fresh copy from `path`.
 */
export function Refreshable({
  id,
  path,
  children,
}: PropsWithChildren<{ id: string; path: string }>) {
  return (
    <div id={id}>
      {children}
      <button
        type="button"
        class="secondary outline"
        hx-get={path}
        hx-target={`#${id}`}
        hx-swap="outerHTML"
      >
        Refresh
      </button>
    </div>
  )
}

/** How many events a log row stands for (a flood of refusals is one row): ` ×N`, or nothing. */
export function RepeatCount({ count }: { count: number }) {
  if (count <= 1) return ''
  return (
    <small class="muted" title={`${count} times in a row from this address`}>
      {` ×${count}`}
    </small>
  )
}
