/**
 * Secrets the harness holds but must never write down: the commands a hosts
 * file configures (a PDU's CLI with its community string or password). They
 * are registered for the whole process as soon as they are read, and
 * replaced wherever text leaves it: the event stream (so results and every
 * report built from it) and the debug logs.
 */
export const REDACTED = '[redacted]';

/** Shorter values would redact ordinary words everywhere; a command that short carries no credential. */
const MIN_SECRET_LENGTH = 6;

const secrets = new Set<string>();

export function registerSecret(secret: string): void {
  if (secret.trim().length >= MIN_SECRET_LENGTH) secrets.add(secret);
}

export function redactText(text: string): string {
  if (!secrets.size) return text;
  // Longest first, so a secret that contains another is replaced whole.
  return [...secrets].sort((a, b) => b.length - a.length).reduce((out, secret) => out.replaceAll(secret, REDACTED), text);
}

/** A copy with every registered secret replaced in every string; plain objects and arrays only (events are JSON). */
export function redactDeep<T>(value: T): T {
  if (!secrets.size) return value;
  return redactValue(value) as T;
}

function redactValue(value: unknown): unknown {
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value)) return value.map(redactValue);
  if (value !== null && typeof value === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(value))) {
    return Object.fromEntries(Object.entries(value).map(([key, entry]) => [key, redactValue(entry)]));
  }
  return value;
}

/**
 * The output of a secret command, with each of the command's own words
 * replaced: a tool that echoes its password or URL gives it away otherwise.
 */
export function redactWordsOf(command: string, text: string): string {
  const words = command.split(/[\s=:@/'"]+/).filter((word) => word.length >= 4);
  return [command, ...words.sort((a, b) => b.length - a.length)].reduce((out, word) => out.replaceAll(word, REDACTED), text);
}
