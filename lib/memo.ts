/**
 * Values built once per process by key, as promises so that callers arriving while one is
 * being built share it: at most `size` are kept, the least recently used going first, and
 * a build that fails is forgotten (the next caller tries again). Callers share the value
 * and must not change it.
 */
export class PromiseCache<T> {
  private readonly values = new Map<string, Promise<T>>();

  constructor(private readonly size: number) {}

  get(key: string, build: () => Promise<T>): Promise<T> {
    let value = this.values.get(key);
    if (value) this.values.delete(key);
    else {
      value = build();
      value.catch(() => {
        if (this.values.get(key) === value) this.values.delete(key);
      });
    }
    this.values.set(key, value);
    if (this.values.size > this.size) this.values.delete(this.values.keys().next().value!);
    return value;
  }
}
