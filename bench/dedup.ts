// Union-find deduplication at catalogue scale (target: 1,000,000 positions with 5%
// injected duplicates in under 10 s). Reference measured in the same run: the
// all-pairs search on a 10,000-position subset, against the declination-zone sweep on the same subset.
import { performance } from 'node:perf_hooks';
import { Rng } from '../lib/rng.js';
import { separationArcsec } from '../lib/sky/coords.js';
import { dedupe, UnionFind, type DedupEntry } from '../lib/sky/dedup.js';
import { figure } from './support/figures.js';

function catalog(n: number, dupFraction: number, seed: number): { entries: DedupEntry[]; injected: number } {
  const rng = new Rng(seed);
  const entries: DedupEntry[] = [];
  const base = Math.round(n / (1 + dupFraction));
  for (let i = 0; i < base; i++) {
    // uniform on the sphere
    entries.push({
      ra_deg: rng.nextFloat() * 360,
      dec_deg: (Math.asin(2 * rng.nextFloat() - 1) * 180) / Math.PI,
      names: [`SRC ${i}`],
    });
  }
  const injected = n - base;
  for (let d = 0; d < injected; d++) {
    const src = entries[rng.nextInt(base)]!;
    // a second catalogue's entry of the same source: within 0.8", half of them unnamed
    const off = (0.8 / 3600) * rng.nextFloat();
    entries.push({
      ra_deg: (src.ra_deg + off / Math.max(0.01, Math.cos((src.dec_deg * Math.PI) / 180)) + 360) % 360,
      dec_deg: Math.max(-90, Math.min(90, src.dec_deg + off)),
      names: rng.nextFloat() < 0.5 ? [] : [src.names[0]!],
    });
  }
  return { entries, injected };
}

const opts = { radius_arcsec: 5, always_merge_arcsec: 1, prefer_xray: false };
const big = catalog(1_000_000, 0.05, 1);
let t = performance.now();
const groups = dedupe(big.entries, opts);
const bigMs = performance.now() - t;
console.log(
  `1,000,000 positions (${big.injected} injected duplicates): ${groups.length} groups in ` +
    `${(bigMs / 1000).toFixed(2)} s (target < 10 s); ${1_000_000 - big.injected} sources before injection (a few ` +
    `unrelated random pairs fall within 1" and merge)`,
);

const small = catalog(10_000, 0.05, 2).entries;
t = performance.now();
const fast = dedupe(small, opts);
const fastMs = performance.now() - t;
t = performance.now();
const uf = new UnionFind(small.length);
for (let i = 0; i < small.length; i++)
  for (let j = i + 1; j < small.length; j++)
    if (separationArcsec(small[i]!.ra_deg, small[i]!.dec_deg, small[j]!.ra_deg, small[j]!.dec_deg) <= 1) uf.union(i, j);
const bruteMs = performance.now() - t;
console.log(
  `10,000 positions: declination zones ${fastMs.toFixed(0)} ms (${fast.length} groups), all-pairs reference ${bruteMs.toFixed(0)} ms`,
);
console.log(`speed-up over all pairs at 10,000: ${(bruteMs / fastMs).toFixed(0)}x`);
figure({ bench: 'dedup', figure: '1,000,000 positions', value: bigMs / 1000, unit: 's', target: '< 10' });
figure({ bench: 'dedup', figure: 'speed-up over all pairs, 10,000 positions', value: bruteMs / fastMs, unit: 'x' });
