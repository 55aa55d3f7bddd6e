import { describe, expect, it } from 'vitest';
import { ksPValue, ksStatistic, populationStabilityIndex } from '../../lib/metrics/shift.js';

describe('population shift', () => {
  it('the two-sample KS statistic, by hand', () => {
    expect(ksStatistic([1, 2, 3], [4, 5, 6])).toBe(1);
    // F_a - F_b at 2: 2/4 - 0; at 4: 1 - 2/4 = 0.5
    expect(ksStatistic([1, 2, 3, 4], [3, 4, 5, 6])).toBe(0.5);
    // ties stepped together: at 2 F_a = 3/4, F_b = 2/3
    expect(ksStatistic([1, 2, 2, 3], [2, 2, 4])).toBeCloseTo(1 / 3, 12);
    expect(ksStatistic([5, 1, 3], [3, 1, 5])).toBe(0);
    expect(ksStatistic([], [1])).toBeNaN();
  });

  it("the asymptotic p-value at the KS table's critical values", () => {
    // Q_KS(1.3581) = 0.05 and Q_KS(1.6276) = 0.01 (the one-sample critical values); n = m = 2 n_e
    const ne = 200;
    const dAt = (lambda: number) => lambda / (Math.sqrt(ne) + 0.12 + 0.11 / Math.sqrt(ne));
    expect(ksPValue(dAt(1.3581), 2 * ne, 2 * ne)).toBeCloseTo(0.05, 4);
    expect(ksPValue(dAt(1.6276), 2 * ne, 2 * ne)).toBeCloseTo(0.01, 4);
    expect(ksPValue(0, 10, 10)).toBe(1);
  });

  it('the population stability index: 0 for the same population, ln-weighted otherwise', () => {
    const ref = Array.from({ length: 100 }, (_, i) => i);
    expect(populationStabilityIndex(ref, ref)).toBe(0);
    // every target in the top decile: (1 - 0.1) ln(1/0.1) + 9 (1e-4 - 0.1) ln(1e-4/0.1)
    const expected = 0.9 * Math.log(10) + 9 * (1e-4 - 0.1) * Math.log(1e-4 / 0.1);
    expect(populationStabilityIndex(ref, [95, 96, 97, 98, 99])).toBeCloseTo(expected, 12);
  });
});
