// The API's edge, the same for every binding (the service behind IPC and HTTP, and the CLI):
// input checked against the contract's schemas, and every error turned into one answer.
import type { z } from 'zod';
import { STUDIO_SETTING_NAMES, inputs, type ApiErrorBody, type Method, type ParsedInput } from '../contract/api.ts';
import { SettingError, UserError, userMessage } from '../errors.ts';

/** A user's mistake reported by the API: input that fails the contract's schema. */
export class InvalidInput extends UserError {
  override name = 'InvalidInput';
}

/** A run, dataset, generation or method that does not exist. */
export class NotFound extends UserError {
  override name = 'NotFound';
}

export function isMethod(name: unknown): name is Method {
  return typeof name === 'string' && Object.hasOwn(inputs, name);
}

export interface Naming {
  /** What the message starts with (default: the method's name). */
  what?: string;
  /** A field's name for the user (the CLI names its flags). */
  field?: (path: string) => string;
}

/** `input` checked against the method's schema, defaults filled in. */
export function parseInput<M extends Method>(method: M, input: unknown, naming: Naming = {}): ParsedInput<M> {
  if (!isMethod(method)) throw new NotFound(`no API method "${String(method)}"`);
  return parseWith(inputs[method] as unknown as z.ZodType<ParsedInput<M>>, input, { what: method, ...naming });
}

/** `input` checked against a schema of the contract; issues become one InvalidInput. */
export function parseWith<T>(schema: z.ZodType<T>, input: unknown, { what = 'input', field = (p) => p }: Naming = {}): T {
  const parsed = schema.safeParse(input ?? {});
  if (parsed.success) return parsed.data;
  // A check across fields has no path of its own and names its fields as {field} in its message.
  const issues = parsed.error.issues.map((i) => {
    const message = i.message.replace(/\{(\w+)\}/g, (_, name: string) => field(name));
    return i.path.length ? `${field(i.path.join('.'))}: ${message}` : message;
  });
  throw new InvalidInput(`${what}: ${issues.join('; ')}`);
}

/**
 * An error as every binding answers it: an HTTP status and the body the client reads. Its clients
 * are the studio's, so a setting in a message is named as the studio shows it.
 */
export function errorAnswer(err: unknown): { status: number; body: ApiErrorBody } {
  if (err instanceof InvalidInput) return { status: 400, body: { error: err.message, code: 'invalid-input' } };
  if (err instanceof NotFound) return { status: 404, body: { error: err.message, code: 'not-found' } };
  if (err instanceof SettingError) return { status: 400, body: { error: userMessage(err, STUDIO_SETTING_NAMES), code: 'user', setting: err.setting } };
  if (err instanceof UserError) return { status: 400, body: { error: err.message, code: 'user' } };
  process.stderr.write(`fontloom: ${(err as Error)?.stack ?? String(err)}\n`);
  return { status: 500, body: { error: `Fontloom failed: ${(err as Error)?.message ?? String(err)}`, code: 'internal' } };
}
