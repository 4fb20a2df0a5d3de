import { type AuditActor, CLI_ACTOR } from '../domain/audit.ts'
import {
  addDestination,
  type Delivery,
  type Destination,
  listDestinations,
  recentDeliveries,
  removeDestination,
  testDestination,
} from '../domain/destinations.ts'
import { type OptionSpec, type Parsed, STORE_OPTION, str } from './args.ts'
import { UsageError } from './io.ts'
import { isoOrDash, print, type StoreRuntime, table } from './runtime.ts'

export const DESTINATIONS_HELP = `Usage: mida-export destinations <add|list|remove|test> [options]

  destinations add --type webhook|slack --url URL [--name NAME]
                                  add a destination; a webhook's signing secret is printed once
  destinations list               id, name, type, URL hint, created, last delivery
  destinations remove ID          remove a destination (and its delivery log)
  destinations test ID            deliver a test payload now (event sync.test) and print the answer

Each sync of the store's last completed period is pushed to every destination, once per period,
through the outbox (retried with backoff for up to 24 hours). URLs must be https:// and must not
resolve to loopback, private or link-local addresses, unless MIDA_ALLOW_PRIVATE_DESTINATIONS=true
(which also allows http://). Slack URLs are secrets: only their hint is shown.

Options: --store SLUG (required when the server holds several stores), --json (one JSON
document on stdout), --data-dir DIR`

export const DESTINATIONS_OPTIONS: Record<string, OptionSpec> = {
  ...STORE_OPTION,
  type: { type: 'string' },
  url: { type: 'string' },
  name: { type: 'string' },
}

function deliveryJson(d: Delivery) {
  return {
    id: d.id,
    event: d.event,
    period: d.periodLabel,
    status: d.status,
    attempts: d.attempts,
    last_error: d.lastError,
    response: d.response,
    created_at: isoOrDash(d.createdAt),
    sent_at: d.sentAt === null ? null : isoOrDash(d.sentAt),
  }
}

function destinationJson(d: Destination) {
  return {
    id: d.id,
    name: d.name,
    type: d.type,
    url_hint: d.urlHint,
    created_at: isoOrDash(d.createdAt),
  }
}

/** `destinations add|list|remove|test`. */
export async function runDestinations(rt: StoreRuntime, p: Parsed): Promise<number> {
  const { data, store, clock } = rt
  const by: AuditActor = { storeId: store.id, actor: CLI_ACTOR, address: null }
  const options = { allowPrivate: rt.config.allowPrivateDestinations }
  const [action, ref] = p.positionals
  switch (action) {
    case 'add': {
      const type = str(p, 'type')
      const url = str(p, 'url')
      if (!type || !url)
        throw new UsageError('destinations add needs --type webhook|slack and --url URL')
      const { destination, secret } = await addDestination(
        data,
        store,
        { type, url, name: str(p, 'name') },
        clock,
        options,
        by,
      )
      const json = { ...destinationJson(destination), ...(secret === null ? {} : { secret }) }
      print(rt, json, () => {
        const added = `Added destination ${destination.id} "${destination.name}" (${destination.type}, ${destination.urlHint}).`
        if (secret === null) return added
        return [
          `${added} Its signing secret (X-Mida-Signature), shown once: copy it now.`,
          '',
          `  ${secret}`,
        ].join('\n')
      })
      return 0
    }
    case 'list': {
      const list = await listDestinations(data, store)
      const withLast = await Promise.all(
        list.map(async (d) => ({
          d,
          last: (await recentDeliveries(data, store, d.id, 1))[0] ?? null,
        })),
      )
      print(
        rt,
        withLast.map(({ d, last }) => ({
          ...destinationJson(d),
          last_delivery: last ? deliveryJson(last) : null,
        })),
        () =>
          list.length === 0
            ? 'No destinations yet. Add one with: mida-export destinations add --type webhook --url URL'
            : table(
                ['ID', 'NAME', 'TYPE', 'URL', 'CREATED', 'LAST DELIVERY'],
                withLast.map(({ d, last }) => [
                  String(d.id),
                  d.name,
                  d.type,
                  d.urlHint,
                  isoOrDash(d.createdAt),
                  last
                    ? `${last.status} ${isoOrDash(last.createdAt)}${last.lastError ? `: ${last.lastError}` : ''}`
                    : '-',
                ]),
              ),
      )
      return 0
    }
    case 'remove': {
      if (!ref) throw new UsageError('destinations remove needs an ID')
      const removed = await removeDestination(data, store, ref, clock, by)
      print(
        rt,
        destinationJson(removed),
        () => `Removed destination ${removed.id} "${removed.name}".`,
      )
      return 0
    }
    case 'test': {
      if (!ref) throw new UsageError('destinations test needs an ID')
      const { destination, delivery } = await testDestination(data, store, ref, clock, options)
      print(
        rt,
        { destination: destinationJson(destination), delivery: deliveryJson(delivery) },
        () =>
          delivery.status === 'sent'
            ? `Test delivered to "${destination.name}" (${destination.urlHint}): ${delivery.response}.`
            : `Test to "${destination.name}" (${destination.urlHint}) failed: ${delivery.lastError}.`,
      )
      return delivery.status === 'sent' ? 0 : 1
    }
    default:
      throw new UsageError(
        action === undefined
          ? 'destinations needs add, list, remove or test'
          : `Unknown destinations action: ${action}`,
      )
  }
}
