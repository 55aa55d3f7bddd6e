export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Canonical JSON: object keys sorted, no whitespace, numbers in JavaScript's shortest
 * round-trip form. Two values that mean the same thing give the same text. Pure, so
 * Temporal workflow code can use it too.
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
