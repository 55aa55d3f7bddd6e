import { describe, expect, it } from 'vitest';
import {
  agreementOf,
  matchProvenance,
  trainedUnder,
  type ProvenanceLabel,
  type ProvenanceSource,
} from '../../lib/sky/provenance.js';
import { METHOD_CROSSMATCH } from '../../lib/sky/crossmatch.js';

const ARCSEC = 1 / 3600;
const src = (id: string, ra: number, label: string | null, sigma = 1): ProvenanceSource => ({
  id,
  ra_deg: ra,
  dec_deg: 20,
  sigma_eff_arcsec: sigma,
  significance: 10,
  label,
});
// A and B are training sources 34" apart; C is an X-ray source that is not trained on (out of scope)
const sources = [src('2CXO A', 10, 'HMXB'), src('2CXO B', 10.01, 'LMXB'), src('2CXO C', 10.02, null)];
const label = (
  catalog: string,
  cls: string | null,
  dDec_arcsec: number,
  ra: number,
  csc: string | null = null,
): ProvenanceLabel => ({
  catalog,
  name: `${catalog}-${ra}-${dDec_arcsec}`,
  ra_deg: ra,
  dec_deg: 20 + dDec_arcsec * ARCSEC,
  class: cls,
  class_raw: cls ?? 'NS',
  subclass: null,
  csc_name: csc,
});

describe('label provenance', () => {
  const labels = [
    // 0: names A (its position is 10" off: the name decides)
    label('fortin', 'HMXB', 10, 10, '2CXO A'),
    // 1: 0.5" from B
    label('liu', 'LMXB', 0.5, 10.01),
    // 2: 0.2" from C, which is not a training source: labels nothing
    label('liu', 'LMXB', 0.2, 10.02),
    // 3: a magnetar 0.3" from A
    label('mcgill', null, -0.3, 10),
    // 4: 2.5" from B (nu 2.5: ambiguous, still inside 3 sigma)
    label('abril', 'CV', 2.5, 10.01),
    // 5: 3.5" from B: outside 3 sigma_eff
    label('abril', 'CV', 3.5, 10.01),
    // 6: a CSC name not in the X-ray table falls back to its position (0.1" from B)
    label('fortin', 'LMXB', 0.1, 10.01, '2CXO Z'),
    // 7: the name of C (not trained on) decides, though the position is 0.2" from B: labels nothing
    label('fortin', 'HMXB', 0.2, 10.01, '2CXO C'),
  ];
  const matches = matchProvenance(labels, sources, METHOD_CROSSMATCH);

  it('matches by CSC name first, else by position with the method rules', () => {
    expect(matches.map((m) => [m.source, m.label, m.by])).toEqual([
      [0, 0, 'name'],
      [0, 3, 'position'],
      [1, 1, 'position'],
      [1, 4, 'position'],
      [1, 6, 'position'],
    ]);
    const byLabel = new Map(matches.map((m) => [m.label, m]));
    expect(byLabel.get(0)!.sep_arcsec).toBeCloseTo(10, 6);
    expect(byLabel.get(1)!.nu).toBeCloseTo(0.5, 6);
    expect(byLabel.get(4)!.nu).toBeCloseTo(2.5, 6);
  });

  it('flags disagreement, counting out-of-scope labels', () => {
    const of = (s: number) => matches.filter((m) => m.source === s).map((m) => labels[m.label]!);
    expect(agreementOf('HMXB', of(0))).toBe('conflict'); // Fortin HMXB, but a magnetar there too
    expect(agreementOf('LMXB', of(1))).toBe('conflict'); // Liu LMXB, Abril CV
    expect(agreementOf('LMXB', [labels[1]!, labels[6]!])).toBe('agree');
    expect(agreementOf('AGN', [])).toBe('unconfirmed');
  });

  it('applies the conflict policies', () => {
    const covered = new Set(['LMXB', 'HMXB', 'CV']);
    expect(trainedUnder('keep', 'LMXB', 'conflict', covered)).toBe(true);
    expect(trainedUnder('drop', 'LMXB', 'conflict', covered)).toBe(false);
    expect(trainedUnder('drop', 'LMXB', 'unconfirmed', covered)).toBe(true);
    expect(trainedUnder('require_agreement', 'LMXB', 'unconfirmed', covered)).toBe(false);
    expect(trainedUnder('require_agreement', 'LMXB', 'agree', covered)).toBe(true);
    // no other catalogue covers AGN: nothing to agree with, kept
    expect(trainedUnder('require_agreement', 'AGN', 'unconfirmed', covered)).toBe(true);
    expect(trainedUnder('require_agreement', 'AGN', 'conflict', covered)).toBe(false);
  });
});
