import type { Registry, ViewModel } from './model';

const byName = new WeakMap<Registry, ReadonlyMap<string, ViewModel>>();

/** The view `name` of `registry`, or undefined (any string: names from clients and topics too). */
export function findView(registry: Registry, name: string): ViewModel | undefined {
  let map = byName.get(registry);
  if (map === undefined) {
    map = new Map(registry.views.map((v) => [v.name, v]));
    byName.set(registry, map);
  }
  return map.get(name);
}

/** The view `name` of `registry`; throws when there is none (a name the caller took from the registry). */
export function viewNamed(registry: Registry, name: string): ViewModel {
  const v = findView(registry, name);
  if (v === undefined) throw new Error(`no view named ${JSON.stringify(name)} in the registry of ${registry.dir}`);
  return v;
}

/** The published views' names, in dependency order. */
export function viewNames(registry: Registry): string[] {
  return registry.views.map((v) => v.name);
}
