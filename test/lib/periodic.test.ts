import { describe, expect, test } from 'bun:test'
import { PeriodicTask } from '../../src/lib/periodic.ts'

describe('PeriodicTask', () => {
  test('runs at start, once however often it is started, and stops', () => {
    let runs = 0
    const task = new PeriodicTask(
      () => runs++,
      () => {},
    )
    expect(task.started).toBe(false)
    task.start(60_000)
    task.start(60_000)
    expect(runs).toBe(1)
    expect(task.started).toBe(true)
    task.stop()
    expect(task.started).toBe(false)
  })

  test('a run that throws goes to onError and the timer keeps going', () => {
    const errors: string[] = []
    const task = new PeriodicTask(
      () => {
        throw new Error('disk full')
      },
      (err) => errors.push(err.message),
    )
    task.start(60_000)
    expect(errors).toEqual(['disk full'])
    expect(task.started).toBe(true)
    task.stop()
  })

  test('an asynchronous run that rejects goes to onError; settled waits for the run in progress', async () => {
    const errors: string[] = []
    let fail!: (err: Error) => void
    const task = new PeriodicTask(
      () =>
        new Promise<void>((_, reject) => {
          fail = reject
        }),
      (err) => errors.push(err.message),
    )
    task.start(60_000)
    let settled = false
    const waiting = task.settled().then(() => {
      settled = true
    })
    await Promise.resolve()
    expect(settled).toBe(false)
    fail(new Error('database is locked'))
    await waiting
    expect(errors).toEqual(['database is locked'])
    task.stop()
  })

  test('an asynchronous run still going when the next is due is not started twice', async () => {
    let runs = 0
    let finish!: () => void
    const task = new PeriodicTask(
      () => {
        runs++
        return new Promise<void>((resolve) => {
          finish = resolve
        })
      },
      () => {},
    )
    task.start(5)
    await Bun.sleep(30)
    expect(runs).toBe(1)
    finish()
    await task.settled()
    task.stop()
  })
})
