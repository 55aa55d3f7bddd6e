import { describe, expect, it } from 'vitest';
import { runAdversarialQueries } from './adversarial.js';
import { tempDir } from '../helpers.js';

describe('xclass query against a hostile user (issue 25)', () => {
  it('over 100 statements: nothing written, read outside the store, leaked or looked up; each refused in one line or answered', async () => {
    const outcomes = await runAdversarialQueries(tempDir());
    expect(outcomes.length).toBeGreaterThanOrEqual(100);
    for (const o of outcomes) {
      expect({ name: o.name, written: o.written, read: o.read, leaked: o.leaked, lookedUp: o.lookedUp }).toEqual({
        name: o.name,
        written: [],
        read: [],
        leaked: false,
        lookedUp: 0,
      });
      expect([o.name, o.answered], o.line).toEqual([o.name, o.expected]);
      expect(o.line.split('\n'), o.name).toHaveLength(1);
    }
  }, 120_000);
});
