/**
 * `linkerd check -o json` (linkerd/linkerd2 pkg/healthcheck/healthcheck_output.go):
 * {"success": bool, "categories": [{"categoryName", "checks": [{"description",
 * "hint"?, "error"?, "result": "success"|"warning"|"error"}]}]}.
 */
export interface LinkerdCheck {
  success: boolean;
  total: number;
  warnings: { category: string; description: string; error?: string }[];
  errors: { category: string; description: string; error?: string; hint?: string }[];
}

export function parseLinkerdCheck(text: string): LinkerdCheck {
  const start = text.indexOf('{');
  if (start < 0) throw new Error(`linkerd check printed no JSON: ${text.trim().slice(0, 200) || '(nothing)'}`);
  const doc = JSON.parse(text.slice(start)) as { success?: unknown; categories?: { categoryName?: string; checks?: { description?: string; hint?: string; error?: string; result?: string }[] }[] };
  if (typeof doc.success !== 'boolean' || !Array.isArray(doc.categories)) throw new Error('linkerd check JSON lacks "success" or "categories"');
  const result: LinkerdCheck = { success: doc.success, total: 0, warnings: [], errors: [] };
  for (const category of doc.categories) {
    for (const check of category.checks ?? []) {
      result.total++;
      const item = { category: category.categoryName ?? '', description: check.description ?? '', ...(check.error ? { error: check.error } : {}) };
      if (check.result === 'warning') result.warnings.push(item);
      else if (check.result !== 'success') result.errors.push({ ...item, ...(check.hint ? { hint: check.hint } : {}) });
    }
  }
  return result;
}
