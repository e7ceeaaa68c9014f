/**
 * `istioctl analyze -o json` (https://istio.io/latest/docs/reference/commands/istioctl/#istioctl-analyze):
 * a list of messages {code, documentationUrl, level: Error|Warning|Info, message, origin}.
 * `verify-install` was removed upstream (checks.md anti-pattern 5): analyze is the health command.
 */
export interface IstioAnalysis {
  errors: string[];
  warnings: string[];
  infos: number;
}

export function parseIstioAnalyze(text: string): IstioAnalysis {
  const start = text.indexOf('[');
  const messages = (start < 0 ? [] : JSON.parse(text.slice(start))) as { code?: string; level?: string; message?: string; origin?: string }[];
  const line = (m: (typeof messages)[number]) => `${m.code ?? '?'} ${m.origin ?? ''}: ${m.message ?? ''}`.trim();
  return {
    errors: messages.filter((m) => m.level === 'Error').map(line),
    warnings: messages.filter((m) => m.level === 'Warning' || m.level === 'Warn').map(line),
    infos: messages.filter((m) => m.level === 'Info').length,
  };
}
