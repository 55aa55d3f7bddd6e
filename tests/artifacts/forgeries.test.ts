import { describe, expect, it } from 'vitest';
import { runForgeries, runGcSituations } from './forgeries.js';
import { tempDir } from '../helpers.js';

describe('forged metadata and gc situations (issue 25)', () => {
  it('every forged meta.json is found by the cache check, verify and a read, and a rewrite restores the content', async () => {
    const outcomes = await runForgeries(tempDir());
    expect(outcomes.length).toBeGreaterThanOrEqual(20);
    for (const o of outcomes) {
      if (o.expected === 'detected')
        expect(
          { name: o.name, detected: o.detected, verify: o.verifyFound, read: o.readRefused, restored: o.restored },
          o.line,
        ).toEqual({
          name: o.name,
          detected: true,
          verify: true,
          read: true,
          restored: true,
        });
      else expect({ name: o.name, detected: o.detected }, o.line).toEqual({ name: o.name, detected: false });
    }
    // the seal removed is not damage, but verify counts the artifact as unsealed
    expect(outcomes.at(-1)!.unsealed).toBe(1);
  });

  it('gc deletes only what it can prove unreachable, and nothing through a symlink out of the store', async () => {
    const outcomes = await runGcSituations(tempDir());
    expect(outcomes.length).toBeGreaterThanOrEqual(10);
    for (const o of outcomes) {
      expect({ name: o.name, deleted: o.deleted, outsideIntact: o.outsideIntact }, o.line).toEqual({
        name: o.name,
        deleted: o.expectedDeleted,
        outsideIntact: true,
      });
      expect(o.line.split('\n')).toHaveLength(1);
    }
  });
});
