import type { CatalogHandle, EngineQuery } from './engine.js'

/** A fixed set of catalogs, in the shape a query hands the engine. */
export function fixedCatalogs(...handles: CatalogHandle[]): Pick<EngineQuery, 'resolveCatalogs' | 'catalogNames'> {
  const byName = new Map(handles.map((handle) => [handle.name, handle]))
  return {
    resolveCatalogs: async (names) =>
      new Map(names.flatMap((name) => (byName.has(name) ? [[name, byName.get(name)!] as const] : []))),
    catalogNames: async () => [...byName.keys()],
  }
}
