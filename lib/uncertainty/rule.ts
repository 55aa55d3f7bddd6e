import type { UncertainRule } from '../../schemas/uncertainty.js';
import { setLabel } from './conformal.js';

/** The signals the uncertain rule reads for one source; null where not known. */
export interface UncertaintySignals {
  /** the predicted (final) class */
  predicted: string;
  set: readonly string[] | null;
  ood: boolean | null;
  ood_score: number | null;
  ood_threshold: number | null;
  significance: number | null;
  confidence: number;
}

/**
 * The configured uncertain rule (schemas/uncertainty.ts): uncertain when any part that
 * is on fires; the reason names every part that fired, e.g. `set {LMXB,CV}; ood 3.10 >
 * 2.41`. A part whose signal is not known (no calibration, no draws) does not fire.
 */
export function uncertainVerdict(
  rule: UncertainRule,
  s: UncertaintySignals,
): { uncertain: boolean; reason: string | null } {
  const why: string[] = [];
  // certain only when the set is exactly {predicted}: a single-class set of another class
  // ({LMXB} for an AGN answer) says the calibration rejects the answer itself
  if (rule.set_not_single && s.set !== null && !(s.set.length === 1 && s.set[0] === s.predicted))
    why.push(s.set.length === 1 ? `set ${setLabel(s.set)} excludes ${s.predicted}` : `set ${setLabel(s.set)}`);
  if (rule.ood && s.ood === true) why.push(`ood ${s.ood_score?.toFixed(2)} > ${s.ood_threshold?.toFixed(2)}`);
  if (rule.significance_below !== null && s.significance !== null && s.significance < rule.significance_below)
    why.push(`significance ${s.significance.toFixed(2)} < ${rule.significance_below}`);
  if (rule.confidence_below !== null && s.confidence < rule.confidence_below)
    why.push(`confidence ${s.confidence.toFixed(3)} < ${rule.confidence_below}`);
  return { uncertain: why.length > 0, reason: why.length > 0 ? why.join('; ') : null };
}

/** The rule in words, for reports and artifact notes. */
export function describeRule(rule: UncertainRule, level: number): string {
  const parts: string[] = [];
  if (rule.set_not_single)
    parts.push(`the ${Math.round(level * 100)}% conformal set is not exactly {the predicted class}`);
  if (rule.ood) parts.push('the out-of-distribution flag is raised');
  if (rule.significance_below !== null) parts.push(`the Monte-Carlo significance is below ${rule.significance_below}`);
  if (rule.confidence_below !== null) parts.push(`the deciding stage's confidence is below ${rule.confidence_below}`);
  return parts.length === 0 ? 'never (every part of the rule is off)' : `uncertain when ${parts.join(', or ')}`;
}
