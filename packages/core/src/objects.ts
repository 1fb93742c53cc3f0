/**
 * A copy of `value` without its undefined fields, so spreading it over
 * defaults (`{ ...DEFAULTS, ...stripUndefined(options) }`) keeps a default
 * where the caller passed `undefined` explicitly.
 */
export function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
