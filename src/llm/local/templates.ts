/** `{{name}}` / `{{result.field}}` templates; unknown names render empty. Values are looked up by dotted path. */
export function render(template: string, vars: Record<string, unknown>): string {
  return template
    .replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_m, path: string) => {
      const v = path
        .split('.')
        .reduce<unknown>(
          (o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined),
          vars,
        );
      if (v === undefined || v === null) return '';
      return typeof v === 'object' ? JSON.stringify(v) : String(v);
    })
    .replace(/\s+/g, ' ')
    .trim();
}
