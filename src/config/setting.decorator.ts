import 'reflect-metadata';

/**
 * Metadata about every environment setting, declared next to its validation rules. The registry
 * drives the masked config printout, `.env.example`, the README table and the Helm values schema,
 * so documentation cannot drift from what the loader accepts.
 */
export type SettingKind = 'string' | 'integer' | 'boolean' | 'enum' | 'url';

/** How a value is hidden when printed: whole value, or only the credentials inside a URL. */
export type SecretKind = 'value' | 'url-credentials';

export interface SettingMeta {
  name: string;
  group: string;
  kind: SettingKind;
  description: string;
  default?: string | number | boolean;
  enum?: readonly string[];
  secret?: SecretKind;
  /** Human text saying when the setting is required (conditional on a driver). */
  requiredWhen?: string;
  example?: string;
  minimum?: number;
  maximum?: number;
}

const SETTINGS_KEY = Symbol('voxline:settings');

export function Setting(meta: Omit<SettingMeta, 'name'>): PropertyDecorator {
  return (target, propertyKey) => {
    const ctor = target.constructor;
    const list: SettingMeta[] = Reflect.getOwnMetadata(SETTINGS_KEY, ctor) ?? [];
    Reflect.defineMetadata(SETTINGS_KEY, [...list, { name: String(propertyKey), ...meta }], ctor);
  };
}

/** Settings declared on a schema class, in declaration order. */
export function settingsOf(schema: abstract new () => object): readonly SettingMeta[] {
  return (Reflect.getOwnMetadata(SETTINGS_KEY, schema) as SettingMeta[] | undefined) ?? [];
}
