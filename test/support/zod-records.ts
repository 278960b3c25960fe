/**
 * Records read and written with the zod schemas of model.ts, as the registry did before its
 * codecs were generated from them (record-codecs.ts): the reference the codecs are held to.
 */
import type { z } from 'zod';
import { RecordError } from '../../src/errors/errors';

/** How many problems a refused record lists. */
const SHOWN = 3;

/**
 * The problems zod finds in `json`, as "field: message", in its order. A key of a map that
 * fails its check is named with the key's own message (zod gives the map's message for it).
 */
export function zodProblems(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) => {
    const field = issue.path.length ? issue.path.join('.') : '(record)';
    const inner = issue.code === 'invalid_key' ? issue.issues.slice(0, 1) : [issue];
    return inner.map((i) => `${field}: ${i.message}`);
  });
}

/** Decode and validate the JSON stored at `key` with `schema`. */
export function zodDecodeRecord<S extends z.ZodType>(
  schema: S,
  key: string,
  text: string,
): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new RecordError(key, 'not valid JSON', { detail: text.slice(0, 200) });
  }
  const result = schema.safeDecode(json as z.input<S>);
  if (!result.success) {
    const problems = zodProblems(result.error.issues).slice(0, SHOWN).join('; ');
    throw new RecordError(key, problems, { detail: text.slice(0, 500) });
  }
  return result.data;
}

/** Validate and serialise a record with `schema`, as zod encodes it. */
export function zodEncodeRecord<S extends z.ZodType>(schema: S, value: z.output<S>): string {
  return JSON.stringify(schema.encode(value));
}
