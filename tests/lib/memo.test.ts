import { describe, expect, it } from 'vitest';
import { PromiseCache } from '../../lib/memo.js';

describe('PromiseCache', () => {
  it('builds a key once, shares it while pending, and drops the least recently used past its size', async () => {
    const cache = new PromiseCache<string>(2);
    const built: string[] = [];
    const get = (key: string) =>
      cache.get(key, async () => {
        built.push(key);
        return `value ${key}`;
      });
    const [a1, a2] = [get('a'), get('a')];
    expect(a1).toBe(a2);
    expect(await a1).toBe('value a');
    await get('b');
    await get('a'); // a is now the most recently used
    await get('c'); // drops b
    await get('a');
    await get('b');
    expect(built).toEqual(['a', 'b', 'c', 'b']);
  });

  it('keeps entries up to a total weight, the least recently used going first, the newest always', async () => {
    const cache = new PromiseCache<string>(10);
    const built: string[] = [];
    const get = (key: string, weight: number) =>
      cache.get(
        key,
        async () => {
          built.push(key);
          return key;
        },
        weight,
      );
    await get('a', 4);
    await get('b', 4);
    await get('a', 4); // a is now the most recently used
    await get('c', 4); // 12 > 10: drops b
    await get('a', 4);
    await get('d', 30); // heavier than the whole budget: kept alone
    await get('d', 30);
    await get('a', 4); // drops d
    expect(built).toEqual(['a', 'b', 'c', 'd', 'a']);
    await get('c', 4);
    expect(built).toEqual(['a', 'b', 'c', 'd', 'a', 'c']);
  });

  it('forgets a build that failed, so the next caller tries again', async () => {
    const cache = new PromiseCache<number>(4);
    let calls = 0;
    const build = async () => {
      calls++;
      if (calls === 1) throw new Error('first build fails');
      return calls;
    };
    await expect(cache.get('k', build)).rejects.toThrow('first build fails');
    expect(await cache.get('k', build)).toBe(2);
    expect(await cache.get('k', build)).toBe(2);
    expect(calls).toBe(2);
  });
});
