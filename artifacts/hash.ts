import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export { canonicalJson, type Json } from '../lib/canonical.js';
import { canonicalJson } from '../lib/canonical.js';

export function sha256Hex(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Artifact identity (DESIGN.md): sha256 over the stage, its version, the canonical
 * params and the input artifact ids. Inputs are named by role (e.g. `sources`,
 * `model`) and sorted by role, so the id does not depend on declaration order but
 * swapping two roles does change it.
 */
export function artifactId(
  stage: string,
  stageVersion: number,
  params: unknown,
  inputs: Record<string, string>,
): string {
  const sortedInputs = Object.keys(inputs)
    .sort()
    .map((role) => [role, inputs[role]]);
  return sha256Hex(canonicalJson({ stage, version: stageVersion, params, inputs: sortedInputs }));
}
