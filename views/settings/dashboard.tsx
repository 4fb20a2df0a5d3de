import type { GettingStarted } from '../../src/domain/dashboard.ts'
import {
  formatCompactMoney,
  formatCount,
  formatMoney,
  formatPercent,
} from '../../src/lib/format.ts'
import { Table } from '../table.tsx'
import { modelOf, type OverviewFigures, type OverviewModel, type SettingsSection } from './types.ts'

const W = 720
const H = 220
const PAD = { top: 16, right: 64, bottom: 28, left: 44 }

/** A rounded-up axis maximum: 1, 2 or 5 times a power of ten. */
function niceMax(value: number): number {
  if (value <= 0) return 1
  const p = 10 ** Math.floor(Math.log10(value))
  for (const m of [1, 2, 5, 10]) if (value <= m * p) return m * p
  return 10 * p
}

/** A revenue axis label: whole units of the currency (`$2,000`). */
function moneyTick(amount: number, currency: string): string {
  try {
    return new Intl.NumberFormat('en-US', {
      style: 'currency',
      currency,
      maximumFractionDigits: 0,
      minimumFractionDigits: 0,
    }).format(amount)
  } catch {
    return `${amount} ${currency}`
  }
}

/**
 * Sessions per day as bars on the left axis, revenue as a line on its own right axis: a
 * server-rendered SVG, no script.
 */
function DailyChart({ data }: { data: Pick<OverviewFigures, 'days' | 'currency'> }) {
  const days = data.days
  const innerW = W - PAD.left - PAD.right
  const innerH = H - PAD.top - PAD.bottom
  const maxSessions = niceMax(Math.max(0, ...days.map((d) => d.sessions)))
  const maxRevenue = niceMax(Math.max(0, ...days.map((d) => d.revenue)))
  const slot = innerW / days.length
  const barW = Math.max(2, slot * 0.6)
  const y = (v: number) => PAD.top + innerH - (v / maxSessions) * innerH
  const revenueY = (v: number) => PAD.top + innerH - (v / maxRevenue) * innerH
  const points = days
    .map((d, i) => `${(PAD.left + slot * (i + 0.5)).toFixed(1)},${revenueY(d.revenue).toFixed(1)}`)
    .join(' ')
  const total = days.reduce((s, d) => s + d.sessions, 0)
  const summary = `Sessions per day over the last ${days.length} days (${formatCount(total)} in all), with revenue as a line on its own scale (0 to ${moneyTick(maxRevenue, data.currency)}).`
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
        <line
          class="axis revenue-axis"
          x1={W - PAD.right}
          x2={W - PAD.right}
          y1={revenueY(0)}
          y2={revenueY(maxRevenue)}
        />
        <text
          class="tick revenue-tick"
          data-axis="revenue-max"
          x={W - PAD.right + 6}
          y={revenueY(maxRevenue) + 4}
          text-anchor="start"
        >
          {moneyTick(maxRevenue, data.currency)}
        </text>
        <text
          class="tick revenue-tick"
          x={W - PAD.right + 6}
          y={revenueY(0) + 4}
          text-anchor="start"
        >
          {moneyTick(0, data.currency)}
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
        <span class="legend-bar">Sessions (left scale)</span>{' '}
        <span class="legend-line">Revenue (right scale)</span>
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

/** One step of the getting-started checklist, ticked or not, with a link to its section. */
function Step({
  id,
  done,
  href,
  title,
  children,
}: {
  id: string
  done: boolean
  href: string
  title: string
  children: JSX.Element
}) {
  return (
    <li class={done ? 'step step-done' : 'step step-todo'} data-step={id} data-done={String(done)}>
      <span class="step-mark" aria-hidden="true">
        {done ? '✓' : '○'}
      </span>{' '}
      <span class="visually-hidden">{done ? 'Done: ' : 'To do: '}</span>
      <a href={href} safe>
        {title}
      </a>
      <br />
      <small>{children}</small>
    </li>
  )
}

/** The first screen of a store without data: four steps, each ticked from the real state. */
function Checklist({ steps, recipient }: { steps: GettingStarted; recipient: string }) {
  return (
    <div class="checklist">
      <h3>Getting started</h3>
      <p>
        No sessions or orders yet. Four steps to the first sync; the figures and a 14-day chart
        replace this list once data arrives.
      </p>
      <ol>
        <Step id="api" done={steps.apiEnabled} href="#section-api-status" title="Activate the API">
          {steps.apiEnabled
            ? 'API Status is Activated.'
            : 'API Status is Deactivated: the sync API answers 403 to every key.'}
        </Step>
        <Step id="key" done={steps.hasKey} href="#section-api-keys" title="Generate an API key">
          {steps.hasKey ? 'An export key exists.' : 'No export key yet.'}
        </Step>
        <Step
          id="data"
          done={steps.dataIn}
          href="#section-tracking"
          title="Install the tracker or the Shopify webhooks"
        >
          {steps.dataIn
            ? 'The Shopify webhook secret is set: waiting for the first order.'
            : 'Paste the tracking tag into your theme, or set up the order webhooks.'}
        </Step>
        <Step
          id="recipient"
          done={steps.hasRecipient && steps.smtpConfigured}
          href="#section-notifications"
          title="Check the notification recipient"
        >
          {!steps.hasRecipient ? (
            'No recipient: set a Recipient or the store email.'
          ) : !steps.smtpConfigured ? (
            <>
              Emails would go to <span safe>{recipient}</span>, but no SMTP server is configured (
              <a href="#section-smtp">Email delivery</a>).
            </>
          ) : (
            <>
              Emails go to <span safe>{recipient}</span>.
            </>
          )}
        </Step>
      </ol>
    </div>
  )
}

/** The last completed period's figures and the chart, with data. */
function Figures({ data }: { data: OverviewFigures }) {
  const m = data.metrics
  return (
    <>
      <p class="period-label">
        Last completed period: {data.frequency === 'daily' ? 'yesterday' : 'last week'},{' '}
        <span safe>{data.periodLabel}</span> ({data.timeZone}): what the sync API returns now.
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
}

/**
 * The overview fragment (`#overview`): the checklist on a store without data, else the figures
 * and the chart. It reloads itself after a Save (the `settings-saved` event); key actions and
 * "Activate" send it along as a partial.
 */
export function Overview({ model }: { model: OverviewModel }) {
  const body =
    model.kind === 'figures' ? (
      <Figures data={model} />
    ) : (
      <Checklist steps={model.steps} recipient={model.recipient} />
    )
  return (
    <div
      id="overview"
      hx-get={`${model.base}/settings/overview`}
      hx-trigger="settings-saved from:body"
      hx-swap="outerHTML"
    >
      {body}
    </div>
  )
}

/** The getting-started checklist, or the last completed period's figures and the 14-day chart. */
export const dashboardSection: SettingsSection = {
  id: 'dashboard',
  title: 'Overview',
  fields: false,
  models: ['overview'],
  render(view) {
    return <Overview model={modelOf(view, 'overview')} />
  },
}
