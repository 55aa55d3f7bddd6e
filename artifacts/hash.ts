import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Canonical JSON: object keys sorted, no whitespace, numbers in JavaScript's shortest
 * round-trip form. Two params objects that mean the same thing hash the same.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonicalize(value, '$'));
}

function canonicalize(value: unknown, path: string): Json {
  if (value === null) return null;
  switch (typeof value) {
    case 'boolean':
    case 'string':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new Error(`canonical JSON: ${path} is ${value}, which JSON cannot hold`);
      return Object.is(value, -0) ? 0 : value;
    case 'object': {
      if (Array.isArray(value)) return value.map((v, i) => canonicalize(v, `${path}[${i}]`));
      const out: { [key: string]: Json } = {};
      for (const key of Object.keys(value as object).sort()) {
        const v = (value as Record<string, unknown>)[key];
        if (v === undefined) continue;
        out[key] = canonicalize(v, `${path}.${key}`);
      }
      return out;
    }
    default:
      throw new Error(`canonical JSON: ${path} has type ${typeof value}`);
  }
}

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
export function artifactId(stage: string, stageVersion: number, params: unknown, inputs: Record<string, string>): string {
  const sortedInputs = Object.keys(inputs)
    .sort()
    .map((role) => [role, inputs[role]]);
  return sha256Hex(canonicalJson({ stage, version: stageVersion, params, inputs: sortedInputs }));
}
