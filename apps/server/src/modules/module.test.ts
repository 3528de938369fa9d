import { describe, expect, it } from 'vitest'

import { buildModules, defineModule, type Platform } from './module.js'

// The factories below use nothing of the platform: an empty one is enough to build them.
const platform = {} as Platform

const counter = defineModule({
  name: 'counter',
  dependsOn: [],
  create: () => {
    let count = 0
    return { service: { next: () => ++count } }
  },
})

const greeter = defineModule({
  name: 'greeter',
  dependsOn: [counter],
  create: (_platform, { counter }) => ({
    service: { greet: (name: string) => `hello ${name} #${counter.next()}` },
    jobs: [{ kind: 'greet', retryable: false, maxAttempts: 1, run: async () => ({}) }],
  }),
})

describe('buildModules', () => {
  it('builds modules in list order, handing each exactly the services it names', () => {
    const { services, offers } = buildModules(platform, [counter, greeter])
    expect(services.greeter.greet('ada')).toBe('hello ada #1')
    // The same service instance is shared: the counter moved on for everyone.
    expect(services.counter.next()).toBe(2)
    expect(offers.map((offer) => offer.name)).toEqual(['counter', 'greeter'])
    expect(offers[1]!.jobs?.map((job) => job.kind)).toEqual(['greet'])
  })

  it('refuses a module listed before one it depends on', () => {
    expect(() => buildModules(platform, [greeter, counter])).toThrow(
      "module 'greeter' needs 'counter', which must come before it in the list",
    )
  })

  it('refuses a module listed twice', () => {
    expect(() => buildModules(platform, [counter, counter])).toThrow("module 'counter' is listed twice")
  })
})
