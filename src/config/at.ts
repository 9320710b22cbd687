import { showValue } from './show.js';

/**
 * A config error: `config` names the config, `field` the path of the field ('' for the whole);
 * `expects` is set when the value was of the wrong kind (what the field accepts).
 */
export class ConfigError extends Error {
  constructor(
    readonly config: string,
    readonly field: string,
    message: string,
    readonly expects?: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** A version that this frugal does not read. */
export class ConfigVersionError extends ConfigError {
  constructor(
    config: string,
    readonly expected: number,
    readonly found: unknown,
  ) {
    const newer = typeof found === 'number' && found > expected;
    super(
      config,
      'version',
      `${config}: version must be ${expected}, got ${showValue(found)} (this frugal reads version ${expected}${newer ? '; the config was written by a newer frugal' : ''})`,
    );
    this.name = 'ConfigVersionError';
  }
}

/**
 * Where a check is: the config's name ('train config') and the field's path ('mixed.avgBits',
 * 'steps[0].method'; '' for the config itself). Errors made here name both. `handled` lists
 * fields of this object that a wrapper checks itself (a versioned config's `version`): field
 * checks accept them and list them among the known fields.
 */
export class At {
  constructor(
    readonly config: string,
    readonly path = '',
    readonly handled: readonly string[] = [],
  ) {}

  /** The field `key` of this object. */
  field(key: string): At {
    return new At(this.config, this.path ? `${this.path}.${key}` : key);
  }

  /** Entry `i` of this list. */
  index(i: number): At {
    return new At(this.config, `${this.path}[${i}]`);
  }

  /** `<config>: <path> must be <expects>, got <value>`. */
  expected(expects: string, got: unknown): ConfigError {
    const where = this.path ? `${this.config}: ${this.path}` : this.config;
    return new ConfigError(
      this.config,
      this.path,
      `${where} must be ${expects}, got ${showValue(got)}`,
      expects,
    );
  }

  /** `<config>: <path>: <problem>` (`<config>: <problem>` for the config itself). */
  error(problem: string): ConfigError {
    const where = this.path ? `${this.config}: ${this.path}: ` : `${this.config}: `;
    return new ConfigError(this.config, this.path, `${where}${problem}`);
  }
}
