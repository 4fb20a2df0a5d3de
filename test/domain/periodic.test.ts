import { describe, expect, test } from 'bun:test'
import { PeriodicTask } from '../../src/domain/periodic.ts'

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
})
