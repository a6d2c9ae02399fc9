import type { AppConfig } from './app-config';
import { SETTINGS } from './env.schema';
import type { SettingMeta } from './setting.decorator';

export const MASK = '****';

/** Hides user:password in a URL, keeping scheme, host and path readable. */
export function maskUrlCredentials(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/]*)@/i, (_m, scheme: string) => `${scheme}${MASK}@`);
}

export function maskSetting(
  meta: SettingMeta,
  value: string | number | boolean | undefined,
): string | number | boolean | undefined {
  if (value === undefined || !meta.secret) return value;
  return meta.secret === 'url-credentials' ? maskUrlCredentials(String(value)) : MASK;
}

/** The settings with every secret masked: the only form in which config may be printed or logged. */
export function maskedSettings(config: AppConfig): Record<string, string | number | boolean | undefined> {
  const out: Record<string, string | number | boolean | undefined> = {};
  for (const meta of SETTINGS) out[meta.name] = maskSetting(meta, config.settings[meta.name]);
  return out;
}
