import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderJunit } from './junit.js';
import { buildResult, parseEventsJsonl, type CheckResult, type RunResult } from './result-model.js';
import { escapeXmlAttribute } from './xml.js';

const goldenResult = (): RunResult =>
  buildResult(parseEventsJsonl(readFileSync(new URL('../../fixtures/golden/reports/killed-run/events.jsonl', import.meta.url), 'utf8')).events);

const NASTY = 'exit 1: <html> & "double" \'single\' ]]> \u001b[31mred\u001b[0m \u0000nul\ttab\nsecond line \uD800 lone';

function resultWith(checks: Partial<CheckResult>[]): RunResult {
  const base = goldenResult();
  const full = checks.map((c, i) => ({ id: `X-${i}`, suite: 'x', name: 'nasty', verdict: 'fail' as const, durationMs: 1, evidence: {}, ...c }));
  return { ...base, phases: [], checks: full };
}

/**
 * A small strict well-formedness check for the XML this module writes: tags
 * balance, attribute values are quoted, and `&` only starts an entity.
 */
function assertWellFormed(xml: string): void {
  const forbidden = xml.match(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/);
  if (forbidden) throw new Error(`forbidden character U+${forbidden[0].charCodeAt(0).toString(16)}`);
  const entity = /^&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-f]+);/i;
  const stack: string[] = [];
  let i = xml.startsWith('<?xml') ? xml.indexOf('?>') + 2 : 0;
  while (i < xml.length) {
    const c = xml[i]!;
    if (c === '&' && !entity.test(xml.slice(i))) throw new Error(`bare & at ${i}`);
    if (c !== '<') {
      i += 1;
      continue;
    }
    const end = xml.indexOf('>', i);
    const tag = xml.slice(i + 1, end);
    if (tag.includes('<')) throw new Error(`< inside tag at ${i}`);
    if (tag.startsWith('/')) {
      const open = stack.pop();
      if (open !== tag.slice(1)) throw new Error(`</${tag.slice(1)}> closes <${open}>`);
    } else {
      const name = tag.match(/^[A-Za-z][\w-]*/)?.[0];
      if (!name) throw new Error(`bad tag at ${i}`);
      const attributes = tag.slice(name.length).replace(/\/$/, '');
      if (!/^(\s+[\w-]+="[^"<]*")*\s*$/.test(attributes)) throw new Error(`bad attributes in <${name}>: ${attributes}`);
      if (/&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(attributes)) throw new Error(`bare & in <${name}>`);
      if (!tag.endsWith('/')) stack.push(name);
    }
    i = end + 1;
  }
  if (stack.length) throw new Error(`unclosed <${stack.join('>, <')}>`);
}

/** Parses with Python's expat when there is a python3: a real XML parser, not ours. */
function parseWithExpat(xml: string): { ok: boolean; output: string } | undefined {
  const script = 'import sys, json, xml.etree.ElementTree as E\nr = E.fromstring(sys.stdin.buffer.read())\nprint(json.dumps([f.get("message") for f in r.iter("failure")]))';
  const run = spawnSync('python3', ['-c', script], { input: xml, encoding: 'utf8' });
  if (run.error || run.status === 127) return undefined; // no python3 (or a pyenv shim without one)
  return { ok: run.status === 0, output: run.status === 0 ? run.stdout : run.stderr };
}

describe('renderJunit', () => {
  it('renders the golden run', async () => {
    await expect(renderJunit(goldenResult())).toMatchFileSnapshot('../../fixtures/golden/reports/killed-run/junit.xml');
  });

  it('counts per suite: fail is a failure, skipped and not-applicable are skips with their reason', () => {
    const xml = renderJunit(goldenResult());
    expect(xml).toContain('<testsuite name="smoke" tests="4" failures="1" errors="0" skipped="2" time="81.323">');
    expect(xml).toContain('<skipped message="skipped: needs 2 nodes, the cluster has 1 (topology &quot;1&quot;)"/>');
    expect(xml).toContain('<skipped message="not-applicable: no ingress controller: upstream Kubernetes ships no ingress addon"/>');
    expect(xml).toContain('<testcase name="BOOT-1 Every expected node is Ready" classname="boot" time="5.112"/>');
  });

  it('reports phases: a failed phase is a failure, an unfinished one an error', () => {
    const result = goldenResult();
    result.phases[1] = { ...result.phases[1]!, outcome: 'failed', error: 'etcd /health not reached after 20m00s' };
    const xml = renderJunit(result);
    expect(xml).toContain('<testsuite name="phases" tests="7" failures="1" errors="1" skipped="0"');
    expect(xml).toMatch(/<testcase name="etcd \[ep-3500a1b2-cp-0\]" classname="phases" time="9.100">\s*<failure message="etcd \/health not reached after 20m00s" type="failed"\/>/);
    expect(xml).toMatch(/<testcase name="teardown" classname="phases">\s*<error message="the run ended before this phase finished" type="unfinished"\/>/);
  });

  it('escapes markup, quotes and control characters in reasons, names and evidence', () => {
    const xml = renderJunit(resultWith([{ name: NASTY, reason: NASTY, evidence: { output: NASTY } }, { verdict: 'skipped', reason: NASTY }]));
    const attribute = escapeXmlAttribute(NASTY);
    expect(attribute).toBe(
      'exit 1: &lt;html&gt; &amp; &quot;double&quot; &apos;single&apos; ]]&gt; \\u001b[31mred\\u001b[0m \\u0000nul&#9;tab&#10;second line \\ud800 lone',
    );
    expect(xml).toContain(`<failure message="${attribute}" type="fail">`);
    expect(xml).toContain(`<skipped message="skipped: ${attribute}"/>`);
    expect(xml).toContain('"output": "exit 1: &lt;html&gt; &amp; \\"double\\"');
    expect(() => assertWellFormed(xml)).not.toThrow();
  });

  it('produces XML a real parser reads back, with the reason intact', (context) => {
    const parsed = parseWithExpat(renderJunit(resultWith([{ reason: NASTY }])));
    if (!parsed) return context.skip('python3 is not installed');
    expect(parsed.ok, parsed.output).toBe(true);
    const visible = NASTY.replace('\u001b', '\\u001b').replace('\u001b', '\\u001b').replace('\u0000', '\\u0000').replace('\uD800', '\\ud800');
    expect(JSON.parse(parsed.output)).toEqual([visible]);
  });

  it('the well-formedness check catches what it should', () => {
    expect(() => assertWellFormed('<a><b></a></b>')).toThrow(/closes/);
    expect(() => assertWellFormed('<a x="1 & 2"/>')).toThrow(/bare &/);
    expect(() => assertWellFormed('<a>x < y</a>')).toThrow();
    expect(() => assertWellFormed('<a>\u001b</a>')).toThrow(/forbidden/);
  });
});
