/** Drops keys whose value is undefined: result.json and golden files carry no `"key": undefined` noise. */
export function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
