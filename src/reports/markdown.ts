/** Text from outside (reasons, names) inside a Markdown table cell: one line, no HTML, no table or link syntax. */
export function mdInline(text: string, max = 300): string {
  return text
    .replace(/\r?\n/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '\\|')
    .replace(/([[\]`*_])/g, '\\$1')
    .slice(0, max);
}
