import type { z } from 'zod';

/**
 * Why a zod parse failed, in the words every one-line error of XClass uses: the first
 * issue's key path (`uncertainty.mc.draws`, `0.name`) and zod's message without its generic
 * `Invalid input: ` prefix. One formatter for config files, mappings, params, facts,
 * meta.json, run records and table rows.
 */
export interface FirstIssue {
  /** the key path joined with dots; empty for the value itself */
  key: string;
  path: readonly PropertyKey[];
  message: string;
}

export function firstIssue(error: z.ZodError): FirstIssue {
  const issue = error.issues[0]!;
  return {
    key: issue.path.map(String).join('.'),
    path: issue.path,
    message: issue.message.replace(/^Invalid (input|option): /, ''),
  };
}

/** `key 'a.b': message` (or the message alone for the value itself). */
export function issueLine(error: z.ZodError, prefix = ''): string {
  const i = firstIssue(error);
  return i.key === '' ? i.message : `${prefix}key '${i.key}': ${i.message}`;
}
