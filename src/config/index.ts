// One config toolkit for frugal's plain-data configs (training, activation compression,
// decomposition, model compression): field checkers whose errors name the config, the field and
// the value they got, and versioned configs with a JSON round trip and a version check.
//
//   const fields = object({ epochs: integer({ min: 1 }), optimizer: oneOf(['adam', 'sgd']) });
//   const cfg = versionedConfig<MyConfig>({ name: 'my config', version: 1, check: fields });
//   cfg.parse(cfg.toJSON(c)) // equals cfg.validate(c)
export { At, ConfigError, ConfigVersionError } from './at.js';
export {
  boolean,
  type Check,
  check,
  either,
  integer,
  isPlainObject,
  list,
  type NumberRange,
  nullable,
  number,
  object,
  oneOf,
  optional,
  record,
  rejectUnknownFields,
  type Shape,
  type ShapeValue,
  string,
} from './checks.js';
export { showValue } from './show.js';
export { type VersionedConfig, type VersionedConfigSpec, versionedConfig } from './versioned.js';
