import type { Command } from 'commander';
import { UsageError } from '../core/errors.js';

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

/** Checks every option and argument given on the command line of the command about to run (commander's preAction hook). */
export function checkGivenValues(command: Command): void {
  for (const option of command.options) {
    const key = option.attributeName();
    if (command.getOptionValueSource(key) !== 'cli') continue;
    const name = option.long ?? option.short ?? option.flags;
    const takes = `${option.flags.replace(/^.*?\s(?=[<[])/, '')}: ${option.description}`;
    for (const value of [command.getOptionValue(key) as unknown].flat()) if (typeof value === 'string') checkGivenValue(value, name, takes);
  }
  command.registeredArguments.forEach((argument, index) => {
    const given: unknown = command.processedArgs[index];
    const takes = argument.description || argument.name();
    for (const value of [given].flat()) if (typeof value === 'string') checkGivenValue(value, `<${argument.name()}>`, takes);
  });
}
