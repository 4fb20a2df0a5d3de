import { expect, test } from 'bun:test'
import { ReadCache } from '../../src/db/readCache.ts'

/** A change signal answering asynchronously, as PostgreSQL's does (a round trip). */
function asyncSignal() {
  const state = { version: 1, asked: 0 }
  const signal = {
    inTransaction: () => false,
    version: async () => {
      state.asked++
      await new Promise((resolve) => setTimeout(resolve, 1))
      return state.version
    },
  }
  return { state, cache: new ReadCache(signal) }
}

const turns = (n: number) =>
  (async () => {
    for (let i = 0; i < n; i++) await new Promise((resolve) => setTimeout(resolve, 1))
  })()

test('a value read over several turns (a round trip) is remembered until the database changes', async () => {
  const { state, cache } = asyncSignal()
  let reads = 0
  const read = async () => {
    reads++
    await turns(3)
    return `value ${state.version}`
  }
  expect(await cache.load('k', read)).toBe('value 1')
  expect(await cache.load('k', read)).toBe('value 1')
  expect(reads).toBe(1)
  state.version = 2
  await turns(1)
  expect(await cache.load('k', read)).toBe('value 2')
  expect(reads).toBe(2)
})

test('a value whose read saw the cache dropped meanwhile is not remembered', async () => {
  const { cache } = asyncSignal()
  let reads = 0
  const read = async () => {
    reads++
    await turns(2)
    cache.invalidate()
    return 'stale'
  }
  expect(await cache.load('k', read)).toBe('stale')
  expect(await cache.load('k', async () => 'fresh')).toBe('fresh')
  expect(reads).toBe(1)
})
