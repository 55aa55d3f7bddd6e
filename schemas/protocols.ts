/**
 * How test sources are SED-translated when a model is scored: `deployment`, the model
 * as configured with test sources translated without labels (what every real target
 * gets; the headline); `blind`, no label used on either side; `paper`, each test source
 * translated with its own label (the method; reproduces it only). Plain constants, no
 * zod: the workflow bundle imports this.
 */
export const PROTOCOLS = ['deployment', 'blind', 'paper'] as const;
export type Protocol = (typeof PROTOCOLS)[number];
