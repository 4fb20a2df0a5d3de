import { type Dashboard, dashboardData } from '../../src/domain/dashboard.ts'
import { formatCompactMoney, formatCount, formatMoney, formatPercent } from '../format.ts'
import { Table } from '../table.tsx'
import type { SettingsSection } from './types.ts'

const W = 720
const H = 220
const PAD = { top: 16, right: 8, bottom: 28, left: 44 }

/** A rounded-up axis maximum: 1, 2 or 5 times a power of ten. */
function niceMax(value: number): number {
  if (value <= 0) return 1
  const p = 10 ** Math.floor(Math.log10(value))
  for (const m of [1, 2, 5, 10]) if (value <= m * p) return m * p
  return 10 * p
}

/** Sessions per day as bars, revenue as a line: a server-rendered SVG, no script. */
export function DailyChart({ data }: { data: Dashboard }) {
  const days = data.days
  const innerW = W - PAD.left - PAD.right
  const innerH = H - PAD.top - PAD.bottom
  const maxSessions = niceMax(Math.max(0, ...days.map((d) => d.sessions)))
  const maxRevenue = Math.max(0, ...days.map((d) => d.revenue))
  const slot = innerW / days.length
  const barW = Math.max(2, slot * 0.6)
  const y = (v: number) => PAD.top + innerH - (v / maxSessions) * innerH
  const revenueY = (v: number) =>
    PAD.top + innerH - (maxRevenue === 0 ? 0 : (v / maxRevenue) * innerH)
  const points = days
    .map((d, i) => `${(PAD.left + slot * (i + 0.5)).toFixed(1)},${revenueY(d.revenue).toFixed(1)}`)
    .join(' ')
  const total = days.reduce((s, d) => s + d.sessions, 0)
  const summary = `Sessions per day over the last ${days.length} days (${formatCount(total)} in all), with revenue as a line.`
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={summary} preserveAspectRatio="none">
        <line class="axis" x1={PAD.left} x2={W - PAD.right} y1={y(0)} y2={y(0)} />
        <line
          class="grid-line"
          x1={PAD.left}
          x2={W - PAD.right}
          y1={y(maxSessions)}
          y2={y(maxSessions)}
        />
        <text class="tick" x={PAD.left - 6} y={y(maxSessions) + 4} text-anchor="end">
          {formatCount(maxSessions)}
        </text>
        <text class="tick" x={PAD.left - 6} y={y(0) + 4} text-anchor="end">
          0
        </text>
        {days.map((d, i) => {
          const x = PAD.left + slot * i + (slot - barW) / 2
          const label = `${d.date}: ${formatCount(d.sessions)} sessions, ${formatCount(d.successful_orders)} orders, ${formatMoney(d.revenue, data.currency)}`
          return (
            <g>
              <rect
                class="bar"
                x={x.toFixed(1)}
                y={y(d.sessions).toFixed(1)}
                width={barW.toFixed(1)}
                height={(y(0) - y(d.sessions)).toFixed(1)}
              >
                <title safe>{label}</title>
              </rect>
              {i % 2 === days.length % 2 ? (
                ''
              ) : (
                <text
                  class="tick"
                  x={(PAD.left + slot * (i + 0.5)).toFixed(1)}
                  y={H - 8}
                  text-anchor="middle"
                >
                  {d.date.slice(5)}
                </text>
              )}
            </g>
          )
        })}
        <polyline class="revenue" points={points} />
      </svg>
      <figcaption>
        <span class="legend-bar">Sessions</span> <span class="legend-line">Revenue</span>
      </figcaption>
    </figure>
  )
}

/** A stat card; `exact`, when the value is shortened, is its title and what a screen reader says. */
function Figure({ label, value, exact }: { label: string; value: string; exact?: string }) {
  return (
    <div class="figure">
      <span class="figure-label" safe>
        {label}
      </span>
      {exact === undefined || exact === value ? (
        <strong class="figure-value" safe>
          {value}
        </strong>
      ) : (
        <strong class="figure-value" title={exact}>
          <span aria-hidden="true" safe>
            {value}
          </span>
          <span class="visually-hidden" safe>
            {exact}
          </span>
        </strong>
      )}
    </div>
  )
}

/** A money stat card: compact (`$2.1K`) with the exact amount as its title. */
function MoneyFigure({
  label,
  amount,
  currency,
}: {
  label: string
  amount: number
  currency: string
}) {
  return (
    <Figure
      label={label}
      value={formatCompactMoney(amount, currency)}
      exact={formatMoney(amount, currency)}
    />
  )
}

/** The headline figures of the last completed period and the 14-day chart. */
export const dashboardSection: SettingsSection = {
  id: 'dashboard',
  title: 'Last completed period',
  fields: false,
  render({ ctx }) {
    const data = dashboardData(ctx.db, ctx.store.id, ctx.clock.now())
    const m = data.metrics
    return (
      <>
        <p class="period-label">
          {data.frequency === 'daily' ? 'Yesterday' : 'Last week'},{' '}
          <span safe>{data.period.label}</span> ({data.period.timeZone}): what the sync API returns
          now.
        </p>
        <div class="figures">
          <Figure label="Visitors" value={formatCount(m.total_visitors)} />
          <Figure label="Sessions" value={formatCount(m.total_sessions)} />
          <Figure label="Orders" value={formatCount(m.successful_orders)} />
          <MoneyFigure label="Revenue" amount={m.total_revenue} currency={data.currency} />
          <Figure label="Conversion" value={formatPercent(m.conversion_rate)} />
          <MoneyFigure label="Avg. order" amount={m.average_order_value} currency={data.currency} />
        </div>
        <DailyChart data={data} />
        <details>
          <summary>The last {data.days.length} days as a table</summary>
          <Table
            columns={['Day', 'Visitors', 'Sessions', 'Orders', 'Revenue']}
            rows={data.days.map((d) => (
              <tr>
                <td>{d.date}</td>
                <td>{formatCount(d.visitors)}</td>
                <td>{formatCount(d.sessions)}</td>
                <td>{formatCount(d.successful_orders)}</td>
                <td safe>{formatMoney(d.revenue, data.currency)}</td>
              </tr>
            ))}
          />
        </details>
      </>
    )
  },
}
