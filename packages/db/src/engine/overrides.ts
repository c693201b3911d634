/**
 * The object with some members replaced and every other method bound to it. Adapters keep
 * their state in private (#) fields, so a method must run with the original as `this`.
 */
export function withOverrides<T extends object>(object: T, overrides: Partial<T>): T {
  return new Proxy(object, {
    get(target, property) {
      if (Object.hasOwn(overrides, property)) return overrides[property as keyof T];
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
