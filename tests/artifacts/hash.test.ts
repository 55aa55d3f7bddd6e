import { describe, expect, it } from 'vitest';
import { artifactId, canonicalJson, sha256Hex } from '../../artifacts/hash.js';

describe('canonical JSON and artifact ids', () => {
  it('sorts keys at every depth and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });

  it('refuses values JSON cannot hold', () => {
    expect(() => canonicalJson({ x: Number.NaN })).toThrow(/\$\.x is NaN/);
  });

  it('hashes with SHA-256 (FIPS 180-2 test vector "abc")', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('gives the same id for the same stage, version, params and inputs, whatever the key order', () => {
    const a = artifactId('ingest', 1, { x: 1, y: [1, 2] }, { b: 'id2', a: 'id1' });
    const b = artifactId('ingest', 1, { y: [1, 2], x: 1 }, { a: 'id1', b: 'id2' });
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
  });

  it('changes the id when the version, a param, or an input changes', () => {
    const base = artifactId('ingest', 1, { x: 1 }, { a: 'id1' });
    expect(artifactId('ingest', 2, { x: 1 }, { a: 'id1' })).not.toBe(base);
    expect(artifactId('ingest', 1, { x: 2 }, { a: 'id1' })).not.toBe(base);
    expect(artifactId('ingest', 1, { x: 1 }, { a: 'id9' })).not.toBe(base);
    expect(artifactId('ingest', 1, { x: 1 }, { b: 'id1' })).not.toBe(base);
    expect(artifactId('features', 1, { x: 1 }, { a: 'id1' })).not.toBe(base);
  });
});
