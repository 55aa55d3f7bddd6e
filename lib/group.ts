/**
 * Items grouped by a key, keys and items in first-seen order. One push per item: the
 * copy-on-append idiom `[...(map.get(k) ?? []), x]` is quadratic in a group's size.
 */
export function groupBy<T, K>(items: Iterable<T>, key: (item: T, index: number) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  let i = 0;
  for (const item of items) {
    const k = key(item, i++);
    const g = out.get(k);
    if (g) g.push(item);
    else out.set(k, [item]);
  }
  return out;
}
