/**
 * Configuration files people write by hand (budgets, the nightly matrix):
 * YAML validated by a zod schema, every error naming the file, the line and
 * what is wrong, as a UsageError (exit 2) before anything starts.
 */
import { readFile } from 'node:fs/promises';
import { isMap, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { UsageError } from '../core/errors.js';
import { formatIssuePath } from './result-model.js';

/** A bad configuration file: `file:line: what`, as compilers say it. */
export class ConfigFileError extends UsageError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly problem: string,
    hint?: string,
  ) {
    super(`${file}:${line}: ${problem}`, hint);
  }
}

export interface YamlSource {
  text: string;
  /** Shown in errors: the path as the user gave it. */
  file: string;
}

export interface ParsedConfig<T> {
  value: T;
  /** The line (1-based) where the node at `path` starts, for evidence that cites the file. */
  lineOf(path: (string | number)[]): number | undefined;
}

/** Parses and validates; throws ConfigFileError on the first problem. */
export function parseYamlConfig<S extends z.ZodTypeAny>(source: YamlSource, schema: S, hint?: string): ParsedConfig<z.infer<S>> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source.text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const syntaxError = doc.errors[0];
  if (syntaxError) {
    const line = lineCounter.linePos(syntaxError.pos[0]).line;
    throw new ConfigFileError(source.file, line, `YAML syntax: ${firstLine(syntaxError.message)}`, hint);
  }
  if (doc.contents === null) throw new ConfigFileError(source.file, 1, 'the file is empty', hint);
  const parsed = schema.safeParse(doc.toJS({ maxAliasCount: 100 }));
  if (parsed.success) {
    const lineOf = (path: (string | number)[]) => {
      const offset = offsetOfPath(doc, path);
      return offset === undefined ? undefined : lineCounter.linePos(offset).line;
    };
    return { value: parsed.data, lineOf };
  }
  const issue = parsed.error.issues[0]!;
  const line = lineCounter.linePos(offsetOf(doc, issue)).line;
  throw new ConfigFileError(source.file, line, describe(issue), hint);
}

export async function readYamlConfig<S extends z.ZodTypeAny>(file: string, schema: S, hint?: string): Promise<ParsedConfig<z.infer<S>>> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`Cannot read ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`, hint);
  });
  return parseYamlConfig({ text, file }, schema, hint);
}

/** Where the issue is: the offending key for an unknown key, else the deepest part of its path that exists. */
function offsetOf(doc: Document, issue: z.ZodIssue): number {
  const path = [...issue.path];
  if (issue.code === 'unrecognized_keys') {
    const key = keyNode(doc.getIn(path, true) as Node | undefined, issue.keys[0]!);
    if (key?.range) return key.range[0];
  }
  for (; path.length > 0; path.pop()) {
    const offset = offsetOfPath(doc, path);
    if (offset !== undefined) return offset;
  }
  return doc.contents?.range?.[0] ?? 0;
}

/** A map entry is found by its key (the line people read as "that entry"); a list item by its node. */
function offsetOfPath(doc: Document, path: (string | number)[]): number | undefined {
  if (path.length === 0) return doc.contents?.range?.[0];
  const key = keyNode(doc.getIn(path.slice(0, -1), true) as Node | undefined, String(path.at(-1)));
  if (key?.range) return key.range[0];
  return (doc.getIn(path, true) as Node | undefined)?.range?.[0];
}

function keyNode(parent: Node | undefined, key: string): Node | undefined {
  if (!isMap(parent)) return undefined;
  const pair = parent.items.find((item) => String((item.key as { value?: unknown } | null)?.value ?? item.key) === key);
  return pair?.key as Node | undefined;
}

function describe(issue: z.ZodIssue): string {
  const where = formatIssuePath(issue.path);
  const subject = where ? `${where}: ` : '';
  if (issue.code === 'invalid_type' && issue.received === 'undefined') return `${subject}is missing`;
  if (issue.code === 'unrecognized_keys') return `${subject}unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  return `${subject}${issue.message}`;
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}
