/**
 * Versioned configs: plain data with a `version`, checked field by field, that survive a JSON
 * round trip (`parse(toJSON(c))` equals `validate(c)`). A config of another version is refused
 * with a ConfigVersionError that names the version found and the one this frugal reads.
 */
import { At, ConfigError, ConfigVersionError } from './at.js';
import { isPlainObject } from './checks.js';
import { showValue } from './show.js';

export interface VersionedConfigSpec<T extends { version?: number }> {
  /** The config's name in messages: 'train config'. */
  name: string;
  /** The version this frugal writes and reads. */
  version: number;
  /**
   * Whether `validate` needs `version` in its input. Default false: a config built in code may
   * leave it out and gets this version. `parse` (JSON from a file or a report) always needs it.
   */
  versionRequired?: boolean;
  /**
   * Checks the fields other than `version` (removed first; `at` lists it as known), filling
   * defaults.
   */
  check: (raw: Record<string, unknown>, at: At) => Omit<T, 'version'>;
}

export interface VersionedConfig<T extends { version?: number }> {
  readonly name: string;
  readonly version: number;
  /** Checks `input` (plain data) and returns a clean copy with `version` first, defaults filled. */
  validate(input: unknown): T & { version: number };
  /** The validated config as JSON text (2-space indent), `version` included. */
  toJSON(config: T | Partial<T>): string;
  /** A config from JSON text: it must carry this `version`; then as `validate`. */
  parse(json: string): T & { version: number };
}

/** A versioned config from its name, version and field check. */
export function versionedConfig<T extends { version?: number }>(
  spec: VersionedConfigSpec<T>,
): VersionedConfig<T> {
  const { name, version } = spec;
  const at = new At(name, '', ['version']);
  const checkVersion = (raw: Record<string, unknown>, required: boolean) => {
    if (raw.version === undefined && !required) return;
    if (raw.version !== version) throw new ConfigVersionError(name, version, raw.version);
  };
  const validate = (input: unknown, required: boolean): T & { version: number } => {
    if (!isPlainObject(input)) throw at.expected('an object', input);
    checkVersion(input, required);
    const { version: _v, ...rest } = input;
    return { version, ...spec.check(rest, at) } as unknown as T & { version: number };
  };
  return {
    name,
    version,
    validate: (input) => validate(input, spec.versionRequired ?? false),
    toJSON: (config) => JSON.stringify(validate(config, spec.versionRequired ?? false), null, 2),
    parse: (json) => {
      if (typeof json !== 'string') throw at.expected('JSON text', json);
      let raw: unknown;
      try {
        raw = JSON.parse(json);
      } catch (e) {
        throw new ConfigError(
          name,
          '',
          `${name}: not valid JSON (${(e as Error).message}): ${showValue(json, 60)}`,
        );
      }
      return validate(raw, true);
    },
  };
}
