import type { PropsWithChildren } from '@kitajs/html'
import type { Headline, StoreSummary } from '../src/domain/dashboard.ts'
import { formatCount, formatMoney, formatPercent } from '../src/lib/format.ts'
import { Layout, LogoutForm } from './layout.tsx'
import type { StoreChoice } from './settings/types.ts'
import { Table } from './table.tsx'

/**
 * The top bar's store switcher: the store shown (its name as `children`; `current` its slug, none
 * on `/stores`), and a menu of the stores this admin may open, plus "All stores" (`/stores`).
 * A `<details>` menu: no script.
 */
export function StoreSwitcher({
  current,
  stores,
  children,
}: PropsWithChildren<{ current?: string; stores: StoreChoice[] }>) {
  return (
    <details class="dropdown store-switcher" id="store-switcher">
      <summary aria-label="Switch store">{children}</summary>
      <ul>
        {stores.map((s) => (
          <li>
            <a href={s.href} aria-current={s.slug === current ? 'page' : undefined}>
              <span safe>{s.name}</span>{' '}
              <span class="muted store-slug" safe>
                {s.slug}
              </span>
            </a>
          </li>
        ))}
        <li>
          <a href="/stores" aria-current={current === undefined ? 'page' : undefined}>
            All stores
          </a>
        </li>
      </ul>
    </details>
  )
}

/** A store's row on `/stores`: its summary, and where its settings page is. */
export type StoreRowModel = StoreSummary & { slug: string; href: string }

/** The `/stores` page: the stores this admin sees, their totals, and "Add store". */
export interface StoresPageModel {
  csrfToken: string
  rows: StoreRowModel[]
  /** An admin of every store may add one. */
  canAdd: boolean
  /** After a refused "Add store": what was typed and why. */
  form?: { values: Record<string, string>; error: string }
}

/** The change from `previous` to `current`: ▲ 12.5%, ▼ 3.0%, "=" or "new". */
function Trend({ current, previous }: { current: number; previous: number }) {
  if (current === previous) return <small class="trend muted">=</small>
  if (previous === 0) return <small class="trend trend-up">new</small>
  const change = (current - previous) / previous
  const up = change > 0
  return (
    <small
      class={`trend ${up ? 'trend-up' : 'trend-down'}`}
      title={`${formatPercent(Math.abs(change))} ${up ? 'more' : 'less'} than the period before`}
    >
      {up ? '▲' : '▼'} {formatPercent(Math.abs(change))}
    </small>
  )
}

/** The headline figures, in the table's order, each with how it is written. */
const HEADLINE_COLUMNS: [keyof Headline, (value: number, currency: string) => string][] = [
  ['sessions', formatCount],
  ['orders', formatCount],
  ['revenue', formatMoney],
  ['conversion', formatPercent],
]

/** A figure and its trend against the period before (one element: a card's line on a phone). */
function Figure({ text, current, previous }: { text: string; current: number; previous: number }) {
  return (
    <span>
      <span safe>{text}</span> <Trend current={current} previous={previous} />
    </span>
  )
}

/** Totals over the stores: counts add up; revenue only within one currency. */
function totalsOf(rows: StoreRowModel[]) {
  const revenue = new Map<string, number>()
  let sessions = 0
  let orders = 0
  for (const r of rows) {
    sessions += r.current.sessions
    orders += r.current.orders
    revenue.set(r.currency, (revenue.get(r.currency) ?? 0) + r.current.revenue)
  }
  return { sessions, orders, revenue: [...revenue].sort(([a], [b]) => a.localeCompare(b)) }
}

function AddStoreForm({ model }: { model: StoresPageModel }) {
  const v = model.form?.values ?? {}
  return (
    <section id="add-store" class="card" aria-labelledby="title-add-store">
      <h2 id="title-add-store">Add store</h2>
      <p class="intro">
        A store of its own: its own settings, API keys, tracking id, data and emails.
      </p>
      {model.form ? (
        <p class="error" role="alert" safe>
          {model.form.error}
        </p>
      ) : (
        ''
      )}
      <form method="post" action="/stores">
        <input type="hidden" name="_csrf" value={model.csrfToken} />
        <div class="grid">
          <label>
            Slug
            <input
              name="slug"
              required
              pattern="[a-z0-9]+(-[a-z0-9]+)*"
              maxlength="40"
              placeholder="outlet"
              value={v.slug ?? ''}
            />
            <small>
              Lowercase letters, digits and hyphens: its address, /stores/slug/settings.
            </small>
          </label>
          <label>
            Name
            <input name="name" placeholder="Outlet" value={v.name ?? ''} />
          </label>
        </div>
        <div class="grid">
          <label>
            Time zone
            <input name="timezone" placeholder="Europe/Berlin" value={v.timezone ?? ''} />
          </label>
          <label>
            Currency
            <input name="currency" placeholder="EUR" maxlength="3" value={v.currency ?? ''} />
          </label>
        </div>
        <button type="submit">Add store</button>
      </form>
    </section>
  )
}

/** `/stores`: every store this admin sees, with its last completed period's headline figures. */
export function StoresPage({ model }: { model: StoresPageModel }) {
  const totals = totalsOf(model.rows)
  return (
    <Layout title="Stores · Analytics API Data Export" csrfToken={model.csrfToken}>
      <header class="topbar">
        <div class="container topbar-inner">
          <div class="brand">
            <strong>Analytics API Data Export</strong>
            <StoreSwitcher stores={model.rows}>
              <small>All stores</small>
            </StoreSwitcher>
          </div>
          <div class="topbar-actions">
            <LogoutForm csrfToken={model.csrfToken} />
          </div>
        </div>
      </header>
      <main class="container">
        <h1>Stores</h1>
        <p class="muted">
          Each store's last completed period (its own frequency and time zone), with the change
          against the period before.
        </p>
        <Table
          columns={[
            <>Store</>,
            <>Period</>,
            <>Sessions</>,
            <>Orders</>,
            <>Revenue</>,
            <>Conversion</>,
          ]}
          empty="No store to show."
          rows={model.rows.map((r) => (
            <tr id={`store-${r.slug}`}>
              <td class="store-name">
                <a href={r.href} safe>
                  {r.name}
                </a>{' '}
                <small class="muted" safe>
                  {r.slug}
                </small>
              </td>
              <td>
                <span>
                  <span safe>{r.periodLabel}</span>{' '}
                  <small class="muted" safe>
                    {`${r.frequency}, ${r.timeZone}`}
                  </small>
                </span>
              </td>
              {HEADLINE_COLUMNS.map(([key, format]) => (
                <td>
                  <Figure
                    text={format(r.current[key], r.currency)}
                    current={r.current[key]}
                    previous={r.previous[key]}
                  />
                </td>
              ))}
            </tr>
          ))}
        />
        {model.rows.length > 1 ? (
          <p id="store-totals">
            <strong>Totals:</strong> {formatCount(totals.sessions)} sessions,{' '}
            {formatCount(totals.orders)} orders; revenue{' '}
            <span safe>
              {totals.revenue
                .map(([currency, amount]) => formatMoney(amount, currency))
                .join(' + ')}
            </span>{' '}
            <small class="muted">(per currency, never converted)</small>
          </p>
        ) : (
          ''
        )}
        {model.canAdd ? <AddStoreForm model={model} /> : ''}
      </main>
    </Layout>
  )
}
