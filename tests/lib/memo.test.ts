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
