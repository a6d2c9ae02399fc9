/**
 * A small path-aware reader over parsed YAML: every accessor knows where it is in the document, so a
 * validation error names the file and the field ("agents/claims.yaml: local.slots[1].type must be one
 * of name, digits, …").
 */
export class SpecError extends Error {
  readonly code = 'SPEC_INVALID';
  constructor(
    readonly file: string,
    readonly field: string,
    problem: string,
  ) {
    super(`${file}: ${field} ${problem}`);
    this.name = 'SpecError';
  }
}

export class Node {
  constructor(
    private readonly file: string,
    readonly path: string,
    readonly value: unknown,
  ) {}

  fail(problem: string): never {
    throw new SpecError(this.file, this.path || '(document)', problem);
  }

  child(key: string | number): Node {
    const path = typeof key === 'number' ? `${this.path}[${key}]` : this.path ? `${this.path}.${key}` : key;
    const v = this.isObject()
      ? (this.value as Record<string, unknown>)[key as string]
      : Array.isArray(this.value)
        ? this.value[key as number]
        : undefined;
    return new Node(this.file, path, v);
  }

  get present(): boolean {
    return this.value !== undefined && this.value !== null;
  }

  isObject(): boolean {
    return typeof this.value === 'object' && this.value !== null && !Array.isArray(this.value);
  }

  object(allowed?: readonly string[]): Node {
    if (!this.isObject()) this.fail('must be a mapping');
    if (allowed) {
      for (const key of Object.keys(this.value as object)) {
        if (!allowed.includes(key))
          this.child(key).fail(`is not a known field (allowed: ${allowed.join(', ')})`);
      }
    }
    return this;
  }

  keys(): string[] {
    return this.isObject() ? Object.keys(this.value as object) : [];
  }

  string(options: { optional?: boolean; pattern?: RegExp; oneOf?: readonly string[] } = {}): string {
    if (!this.present) {
      if (options.optional) return '';
      this.fail('is required');
    }
    if (typeof this.value !== 'string' || this.value.trim() === '') this.fail('must be a non-empty string');
    const s = this.value as string;
    if (options.pattern && !options.pattern.test(s)) this.fail(`must match ${options.pattern}`);
    if (options.oneOf && !options.oneOf.includes(s))
      this.fail(`must be one of ${options.oneOf.join(', ')} (got "${s}")`);
    return s;
  }

  optionalString(): string | undefined {
    return this.present ? this.string() : undefined;
  }

  number(options: { min?: number; max?: number; integer?: boolean } = {}): number | undefined {
    if (!this.present) return undefined;
    if (typeof this.value !== 'number' || Number.isNaN(this.value)) this.fail('must be a number');
    const n = this.value as number;
    if (options.integer && !Number.isInteger(n)) this.fail('must be an integer');
    if (options.min !== undefined && n < options.min) this.fail(`must be at least ${options.min}`);
    if (options.max !== undefined && n > options.max) this.fail(`must be at most ${options.max}`);
    return n;
  }

  boolean(fallback: boolean): boolean {
    if (!this.present) return fallback;
    if (typeof this.value !== 'boolean') this.fail('must be true or false');
    return this.value as boolean;
  }

  array(options: { optional?: boolean } = {}): Node[] {
    if (!this.present && options.optional) return [];
    if (!Array.isArray(this.value)) this.fail('must be a list');
    return (this.value as unknown[]).map((_, i) => this.child(i));
  }

  stringList(options: { optional?: boolean } = {}): string[] {
    return this.array(options).map((n) => n.string());
  }

  /** A mapping of string → string (template arguments). */
  stringMap(): Record<string, string> {
    if (!this.present) return {};
    this.object();
    return Object.fromEntries(this.keys().map((k) => [k, String(this.child(k).scalar())]));
  }

  scalar(): string | number | boolean {
    if (typeof this.value === 'string' || typeof this.value === 'number' || typeof this.value === 'boolean')
      return this.value;
    return this.fail('must be a string, number or boolean');
  }
}
