import type { PropsWithChildren } from '@kitajs/html'
import { formatStoreTime, isoInstant } from './format.ts'

/** An instant as store time (`YYYY-MM-DD HH:mm`), with its ISO form for machines. */
export function StoreTime({ ms, timeZone }: { ms: number; timeZone: string }) {
  return (
    <time datetime={isoInstant(ms)} safe>
      {formatStoreTime(ms, timeZone)}
    </time>
  )
}

/**
 * A striped table that scrolls sideways on a narrow screen; with `empty`, that line instead when
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
  return (
    <div class="overflow-auto">
      <table class="striped">
        <thead>
          <tr>
            {columns.map((c) => (
              <th scope="col">{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>{rows}</tbody>
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
