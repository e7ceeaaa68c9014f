/**
 * HTML building blocks for the self-contained reports. Every text that can
 * come from outside (check names, reasons, evidence, file names) goes through
 * `text()` or `attr()`; data for scripts goes through `jsonScript()`. Pages
 * carry a Content-Security-Policy that allows no network at all and only the
 * inline scripts the renderer wrote (by hash), so an injection that slipped
 * past the escaping still could not run or phone home.
 */
import { createHash } from 'node:crypto';

/** A piece of HTML that is already safe; plain strings are always escaped. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type Child = Html | string | number | undefined | null | false | Child[];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
// Controls other than tab/newline/CR, lone surrogates and noncharacters cannot appear in HTML text; show them.
const UNPRINTABLE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function escapeHtml(value: string): string {
  return value
    .replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

export function raw(value: string): Html {
  return new Html(value);
}

export function text(value: Child): Html {
  if (value instanceof Html) return value;
  if (Array.isArray(value)) return new Html(value.map((child) => text(child).value).join(''));
  if (value === undefined || value === null || value === false) return new Html('');
  return new Html(escapeHtml(String(value)));
}

/** `h('td', { class: 'num' }, value)`: attribute values and children are escaped. */
export function h(tag: string, attributes: Record<string, string | number | boolean | undefined> = {}, ...children: Child[]): Html {
  const attrs = Object.entries(attributes)
    .filter(([, v]) => v !== undefined && v !== false)
    .map(([k, v]) => (v === true ? ` ${k}` : ` ${k}="${escapeHtml(String(v))}"`))
    .join('');
  return new Html(`<${tag}${attrs}>${text(children).value}</${tag}>`);
}

/**
 * JSON for a `<script type="application/json">` block: `<`, `>`, `&` and the
 * JS line separators are escaped so no value can end the element.
 */
export function jsonScript(id: string, value: unknown): Html {
  const json = JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
  return new Html(`<script type="application/json" id="${escapeHtml(id)}">${json}</script>`);
}

/** An inline script whose source cannot end its element early (checked, not rewritten: code must stay intact). */
export function inlineScript(source: string, what: string): { html: Html; hash: string } {
  if (/<\/script|<!--/i.test(source)) throw new Error(`${what} contains "</script" or "<!--" and cannot be inlined`);
  const hash = `'sha256-${createHash('sha256').update(source, 'utf8').digest('base64')}'`;
  return { html: new Html(`<script>${source}</script>`), hash };
}

/** No network of any kind; scripts only by hash; styles inline; images only as data: URLs. */
export function contentSecurityPolicy(scriptHashes: string[]): string {
  return [
    "default-src 'none'",
    `script-src ${scriptHashes.join(' ') || "'none'"}`,
    "style-src 'unsafe-inline'",
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

/** An href for a link inside the report's own directory tree: relative paths only, never a scheme. */
export function relativeHref(path: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(path) || path.startsWith('/') || path.startsWith('\\') || path.startsWith('//')) return undefined;
  return path.split('/').map(encodeURIComponent).join('/');
}

/** A fragment that finds an element id: ids keep their text (HTML allows any non-space), the URL encodes it. */
export function fragment(id: string): string {
  return `#${encodeURIComponent(id).replace(/%2F/g, '/')}`;
}
