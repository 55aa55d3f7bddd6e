/**
 * Values built once per process by key, as promises so that callers arriving while one is
 * being built share it: at most `size` are kept, the least recently used going first, and
 * a build that fails is forgotten (the next caller tries again). Callers share the value
 * and must not change it. An entry may weigh more than one (the rows of a table): the
 * weights kept then add up to at most `size`, the newest entry always kept.
 */
export class PromiseCache<T> {
  private readonly values = new Map<string, { value: Promise<T>; weight: number }>();
  private total = 0;

  constructor(private readonly size: number) {}

  get(key: string, build: () => Promise<T>, weight = 1): Promise<T> {
    let entry = this.values.get(key);
    if (entry) this.values.delete(key);
    else {
      const value = build();
      entry = { value, weight };
      this.total += weight;
      value.catch(() => {
        if (this.values.get(key)?.value === value) this.drop(key);
      });
    }
    this.values.set(key, entry);
    while (this.total > this.size && this.values.size > 1) this.drop(this.values.keys().next().value!);
    return entry.value;
  }

  private drop(key: string): void {
    this.total -= this.values.get(key)!.weight;
    this.values.delete(key);
  }
}
