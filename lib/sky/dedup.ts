import { medianRaDeg } from './coords.js';
import { median } from '../stats.js';
import { SkyIndex } from './index.js';

/** Union-find with path halving and union by size. */
export class UnionFind {
  readonly parent: Int32Array;
  private readonly size: Int32Array;

  constructor(n: number) {
    this.parent = Int32Array.from({ length: n }, (_, i) => i);
    this.size = new Int32Array(n).fill(1);
  }

  find(i: number): number {
    while (this.parent[i] !== i) {
      this.parent[i] = this.parent[this.parent[i]!]!;
      i = this.parent[i]!;
    }
    return i;
  }

  union(a: number, b: number): void {
    let ra = this.find(a);
    let rb = this.find(b);
    if (ra === rb) return;
    if (this.size[ra]! < this.size[rb]!) [ra, rb] = [rb, ra];
    this.parent[rb] = ra;
    this.size[ra]! += this.size[rb]!;
  }
}

export interface DedupEntry {
  ra_deg: number;
  dec_deg: number;
  /** every name the entry is known by (primary first); may be empty */
  names: string[];
  /** an X-ray detection (preferred for SNR positions) */
  is_xray?: boolean;
}

export interface DedupOptions {
  /** pairs closer than this are candidates (5" by default, 2" for SNRs) */
  radius_arcsec: number;
  /** candidates this close merge whatever their names (1") */
  always_merge_arcsec: number;
  /** take the canonical position from X-ray detections when a group has any (SNRs) */
  prefer_xray: boolean;
}

export interface DedupGroup {
  members: number[];
  ra_deg: number;
  dec_deg: number;
  name: string;
}

/** Catalogue names compared without case, spaces or underscores: `4U 1254-69` = `4u1254-69`. */
export function normaliseName(name: string): string {
  return name.toUpperCase().replace(/[\s_]+/g, '');
}

/**
 * Deduplication within one class (paper section 2.2): entries with an identical
 * normalised name merge; entries within `radius_arcsec` merge if they share a name,
 * either has no name, or they are within `always_merge_arcsec`. Chains merge
 * transitively. Each group's position is the median RA (wrap-safe) and Dec of its
 * members (of its X-ray members when `prefer_xray`), its name the shortest non-empty.
 */
export function dedupe(entries: readonly DedupEntry[], opts: DedupOptions): DedupGroup[] {
  const n = entries.length;
  const uf = new UnionFind(n);
  const norm = entries.map((e) => e.names.map(normaliseName).filter((s) => s !== ''));
  const byName = new Map<string, number>();
  norm.forEach((names, i) => {
    for (const nm of names) {
      const first = byName.get(nm);
      if (first === undefined) byName.set(nm, i);
      else uf.union(first, i);
    }
  });
  const index = new SkyIndex(
    entries.map((e) => e.ra_deg),
    entries.map((e) => e.dec_deg),
    opts.radius_arcsec,
  );
  index.forEachPair((i, j, sep_arcsec) => {
    const a = norm[i]!;
    const b = norm[j]!;
    if (a.length === 0 || b.length === 0 || sep_arcsec <= opts.always_merge_arcsec || a.some((x) => b.includes(x)))
      uf.union(i, j);
  });
  const groups = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const r = uf.find(i);
    const g = groups.get(r);
    if (g) g.push(i);
    else groups.set(r, [i]);
  }
  return [...groups.values()].map((members) => {
    const xray = opts.prefer_xray ? members.filter((i) => entries[i]!.is_xray) : [];
    const pos = xray.length > 0 ? xray : members;
    const names = members.flatMap((i) => entries[i]!.names.map((s) => s.trim()).filter((s) => s !== ''));
    const name = names.sort((a, b) => a.length - b.length || a.localeCompare(b))[0] ?? '';
    return {
      members,
      ra_deg: medianRaDeg(pos.map((i) => entries[i]!.ra_deg)),
      dec_deg: median(pos.map((i) => entries[i]!.dec_deg)),
      name,
    };
  });
}
