import type { Command } from 'commander';
import { checkGivenValue } from '../core/option-values.js';

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
