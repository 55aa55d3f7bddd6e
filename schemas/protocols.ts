/**
 * How test sources are SED-translated when a model is scored: `deployment`, the model
 * as configured with test sources translated without labels (what every real target
 * gets; the headline); `blind`, no label used on either side; `paper`, each test source
 * translated with its own label (the method; reproduces it only). Plain constants, no
 * zod: the workflow bundle imports this.
 */
export const PROTOCOLS = ['deployment', 'blind', 'paper'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/** A held-out part a model is scored on: a CV fold, or the test part of the method's split. */
export type HeldOutPart = `fold_${number}` | 'test';
/** The input role of one scored prediction in `evaluate`: protocol and held-out part. */
export type EvaluateRole = `${Protocol}_${HeldOutPart}`;

/** The grammar of an evaluate input role, written once: the pipeline names roles with evaluateRole, readers parse them with evaluateRoleProtocol. */
const EVALUATE_ROLE = new RegExp(`^(${PROTOCOLS.join('|')})_(fold_\\d+|test)$`);

export function evaluateRole(protocol: Protocol, part: HeldOutPart): EvaluateRole {
  return `${protocol}_${part}`;
}

/** An evaluate input role's protocol, or null when the role is not a scored prediction (`reference`). */
export function evaluateRoleProtocol(role: string): Protocol | null {
  const m = EVALUATE_ROLE.exec(role);
  return m ? (m[1] as Protocol) : null;
}

/** The pattern the evaluate stage declares its prediction roles by. */
export const EVALUATE_ROLE_PATTERN = EVALUATE_ROLE;
