import { describe, expect, it } from 'vitest';
import { medianRaDeg, parseDecDeg, parseRaDeg, separationArcsec } from '../../lib/sky/coords.js';
import { crossMatch, fluxErrorFromLimits, matchQuality, nearestWithin, sigmaEff } from '../../lib/sky/crossmatch.js';
import { dedupe, normaliseName, type DedupEntry } from '../../lib/sky/dedup.js';
import { SkyIndex } from '../../lib/sky/index.js';
import { offsetPosition } from '../../lib/sky/counterparts.js';
import { Rng } from '../../lib/rng.js';

const A = 1 / 3600; // one arcsecond in degrees
const method = { radius_arcsec: 5, always_merge_arcsec: 1, prefer_xray: false };
const e = (ra: number, dec: number, ...names: string[]): DedupEntry => ({ ra_deg: ra, dec_deg: dec, names });
const groupsOf = (entries: DedupEntry[], opts = method) =>
  dedupe(entries, opts)
    .map((g) => g.members.sort((a, b) => a - b))
    .sort((a, b) => a[0]! - b[0]!);

describe('coordinates', () => {
  it('parses the sexagesimal forms of the bundled catalogs', () => {
    expect(parseRaDeg('16 03 54.00')).toBeCloseTo(240.975, 10);
    expect(parseDecDeg('-77 53 06.0')).toBeCloseTo(-(77 + 53 / 60 + 6 / 3600), 10);
    expect(parseRaDeg('01h00m43.14s')).toBeCloseTo(15 * (1 + 43.14 / 3600), 10);
    expect(parseDecDeg('-72°11′33.8″')).toBeCloseTo(-(72 + 11 / 60 + 33.8 / 3600), 10);
    expect(parseDecDeg('-00 30 00')).toBe(-0.5); // the sign of a zero-degree declination
    expect(parseRaDeg('25 00 00')).toBeNull();
    expect(parseDecDeg('+91 00 00')).toBeNull();
    expect(parseRaDeg('')).toBeNull();
  });

  it('measures separations, including across RA 0/360', () => {
    expect(separationArcsec(10, 20, 10, 20 + A)).toBeCloseTo(1, 9);
    expect(separationArcsec(359.9999, 0, 0.0001, 0)).toBeCloseTo(0.72, 6);
    expect(medianRaDeg([359.9, 0.1, 0.2])).toBeCloseTo(0.1, 9);
    expect(medianRaDeg([10, 20, 30])).toBe(20);
  });
});

describe('union-find deduplication (paper 2.2)', () => {
  it('merges identical normalised names wherever they are', () => {
    expect(normaliseName(' 4U 1254-69 ')).toBe('4U1254-69');
    expect(groupsOf([e(10, 10, '4U 1254-69'), e(50, -20, '4u1254-69'), e(10, 10 + 3 * A, 'other')])).toEqual([
      [0, 1],
      [2],
    ]);
  });

  it('merges pairs within 5" that share a name, or where either name is empty', () => {
    expect(groupsOf([e(10, 10, 'X-1', 'alias'), e(10, 10 + 4 * A, 'X-2', 'alias')])).toEqual([[0, 1]]);
    expect(groupsOf([e(10, 10, 'X-1'), e(10, 10 + 4 * A)])).toEqual([[0, 1]]);
    expect(groupsOf([e(10, 10, 'X-1'), e(10, 10 + 4 * A, 'Y-1')])).toEqual([[0], [1]]);
    expect(groupsOf([e(10, 10), e(10, 10 + 6 * A)])).toEqual([[0], [1]]); // beyond 5"
  });

  it('merges differently named pairs only within 1"', () => {
    expect(groupsOf([e(10, 10, 'X-1'), e(10, 10 + 0.9 * A, 'Y-1')])).toEqual([[0, 1]]);
    expect(groupsOf([e(10, 10, 'X-1'), e(10, 10 + 1.1 * A, 'Y-1')])).toEqual([[0], [1]]);
  });

  it('merges chains A-B-C transitively', () => {
    // A-B 4" apart with B unnamed, B-C 4" apart with B unnamed: A and C are 8" apart but join through B
    expect(groupsOf([e(10, 10, 'A'), e(10, 10 + 4 * A), e(10, 10 + 8 * A, 'C')])).toEqual([[0, 1, 2]]);
  });

  it('merges across RA 0/360 and puts the group at the wrap-safe median', () => {
    const g = dedupe([e(359.9999, 5, 'W'), e(0.0001, 5), e(0.0002, 5)], method);
    expect(g).toHaveLength(1);
    expect(g[0]!.ra_deg).toBeCloseTo(0.0001, 9);
    expect(g[0]!.name).toBe('W');
  });

  it('names a group by its shortest non-empty name, and SNRs by X-ray positions within 2"', () => {
    const g = dedupe([e(10, 10, 'SAX J1603.9-7753'), e(10, 10, '4U 1603-77'), e(10, 10, 'SAX J1603.9-7753')], method);
    expect(g[0]!.name).toBe('4U 1603-77');
    const snr = { radius_arcsec: 2, always_merge_arcsec: 1, prefer_xray: true };
    const entries: DedupEntry[] = [
      { ra_deg: 10, dec_deg: 10, names: ['L10-1'] },
      { ra_deg: 10, dec_deg: 10 + 1.5 * A, names: ['L10-1'], is_xray: true },
      { ra_deg: 10, dec_deg: 10 + 4 * A, names: [] }, // 2.5" from the nearest: beyond the SNR radius
    ];
    const s = dedupe(entries, snr).sort((a, b) => a.members[0]! - b.members[0]!);
    expect(s.map((x) => x.members.length)).toEqual([2, 1]);
    expect(s[0]!.dec_deg).toBeCloseTo(10 + 1.5 * A, 12); // the X-ray detection's position
  });
});

describe('cross-match (paper 2.3)', () => {
  it('computes sigma_eff and nu on hand-checked values', () => {
    expect(sigmaEff(0.6, 0.8)).toBeCloseTo(Math.sqrt(0.5), 12); // sqrt((0.36 + 0.64)/2)
    expect(fluxErrorFromLimits(1e-15, 3e-15)).toBeCloseTo(1e-15, 25);
  });

  it('grades matches: secure nu <= 2, ambiguous 2 < nu <= 3, excluded beyond', () => {
    expect(matchQuality(2)).toBe('secure');
    expect(matchQuality(2.0001)).toBe('ambiguous');
    expect(matchQuality(3)).toBe('ambiguous');
    expect(matchQuality(3.0001)).toBeNull();
    const xray = [{ ra_deg: 10, dec_deg: 10, sigma_eff_arcsec: 1, significance: 5 }];
    const at = (sep: number) => crossMatch([{ ra_deg: 10, dec_deg: 10 + sep * A }], xray)[0];
    expect(at(1.5)).toMatchObject({ quality: 'secure', xray: 0 });
    expect(at(1.5)!.nu).toBeCloseTo(1.5, 6);
    expect(at(2.5)).toMatchObject({ quality: 'ambiguous' });
    expect(at(3.5)).toBeNull();
  });

  it('uses the 0.5" floor radius, drops sources below 3 sigma, and picks the smallest nu', () => {
    const tiny = [{ ra_deg: 10, dec_deg: 10, sigma_eff_arcsec: 0.1, significance: 5 }];
    // 0.4" away: inside the 0.5" floor, but nu = 4 > 3, so excluded as the method says
    expect(crossMatch([{ ra_deg: 10, dec_deg: 10 + 0.4 * A }], tiny)[0]).toBeNull();
    const faint = [{ ra_deg: 10, dec_deg: 10, sigma_eff_arcsec: 1, significance: 2.9 }];
    expect(crossMatch([{ ra_deg: 10, dec_deg: 10 }], faint)[0]).toBeNull();
    const two = [
      { ra_deg: 10, dec_deg: 10 + 1 * A, sigma_eff_arcsec: 0.4, significance: 9 }, // nu 2.5
      { ra_deg: 10, dec_deg: 10 - 1.2 * A, sigma_eff_arcsec: 1, significance: 9 }, // nu 1.2
    ];
    expect(crossMatch([{ ra_deg: 10, dec_deg: 10 }], two)[0]).toMatchObject({
      xray: 1,
      quality: 'secure',
      alternatives: 1,
    });
  });

  it('joins the nearest counterpart within 5" with its separation', () => {
    const cat = new SkyIndex([10, 10, 20], [10 + 2 * A, 10 + 4 * A, 0], 5);
    const r = nearestWithin(
      [
        { ra_deg: 10, dec_deg: 10 },
        { ra_deg: 30, dec_deg: 0 },
      ],
      cat,
      5,
    );
    expect(r[0]!.index).toBe(0);
    expect(r[0]!.sep_arcsec).toBeCloseTo(2, 6);
    expect(r[1]).toBeNull();
  });
});

describe('SkyIndex zones against brute force', () => {
  it('finds exactly the points within the radius, near the poles and across RA 0/360 too', () => {
    const rng = new Rng(99);
    // clusters at the RA wrap, near both poles and on the equator, plus points all over the sky
    const centres = [
      [0.001, 0],
      [359.999, 45],
      [120, 89.99],
      [300, -89.5],
      [60, -20],
    ];
    const ra: number[] = [];
    const dec: number[] = [];
    for (const [cr, cd] of centres)
      for (let k = 0; k < 300; k++) {
        const p = offsetPosition(cr!, cd!, 120 * (rng.nextFloat() - 0.5), 120 * (rng.nextFloat() - 0.5));
        ra.push(p.ra_deg);
        dec.push(p.dec_deg);
      }
    for (let k = 0; k < 500; k++) {
      ra.push(360 * rng.nextFloat());
      dec.push((Math.asin(2 * rng.nextFloat() - 1) * 180) / Math.PI);
    }
    const index = new SkyIndex(ra, dec, 40);
    for (let q = 0; q < ra.length; q += 7) {
      for (const r of [40, 10, 1]) {
        const got = index.query(ra[q]!, dec[q]!, r).map((h) => h.index);
        const want = ra.flatMap((_, j) => (separationArcsec(ra[q]!, dec[q]!, ra[j]!, dec[j]!) <= r ? [j] : []));
        expect(got, `query ${q} r ${r}`).toEqual(want);
      }
      expect(index.neighbours(q).map((h) => h.index)).toEqual(
        index
          .query(ra[q]!, dec[q]!, 40)
          .map((h) => h.index)
          .filter((j) => j !== q),
      );
      // a density circle counted and a search circle listed: query's answers for each radius
      for (const [outer, inner] of [
        [40, 10],
        [30, 30],
        [40, 0.5],
      ] as const) {
        const around = index.countAround(ra[q]!, dec[q]!, outer, inner);
        const all = index.query(ra[q]!, dec[q]!, outer);
        expect(around.count, `count ${q} ${outer}"`).toBe(all.length);
        expect(around.within, `within ${q} ${inner}"`).toEqual(all.filter((h) => h.sep_arcsec <= inner));
      }
    }
    expect(() => index.countAround(0, 0, 41, 1)).toThrow(/built for 40" cannot search 41"/);
  });
});
