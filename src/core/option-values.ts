import { UsageError } from './errors.js';

/**
 * A value typed for `name` (a flag, an argument): an empty, blank or
 * space-padded value is an input error, never a default in disguise
 * (`--version ''` used to install the default version, `--cpus ' 1'` to
 * start a run). `takes` says what the option expects.
 */
export function checkGivenValue(value: string, name: string, takes: string): void {
  const leaveOut = name.startsWith('-') ? `, or leave ${name} out` : '';
  if (value.trim() === '') throw new UsageError(`${name} is ${value === '' ? 'empty' : 'blank'}: it takes ${takes}`, `give ${name} a value${leaveOut}`);
  if (value !== value.trim()) throw new UsageError(`${name} ${JSON.stringify(value)} has spaces around it: it takes ${takes}`, `write ${name} ${JSON.stringify(value.trim())}`);
}
