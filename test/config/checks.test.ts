import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  At,
  boolean,
  type Check,
  ConfigError,
  either,
  integer,
  list,
  nullable,
  number,
  object,
  oneOf,
  optional,
  record,
  rejectUnknownFields,
  showValue,
  string,
} from '../../src/config/index.js';

const at = new At('demo config');
const field = at.field('f');

/** The message `c` throws for `value` at field `f`. */
function message(c: Check<unknown>, value: unknown, where = field): string {
  try {
    c(value, where);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `threw a ConfigError: ${e}`);
    return e.message;
  }
  assert.fail(`${showValue(value)} was accepted`);
}

describe('config checks', () => {
  it('showValue prints NaN, infinities and undefined as they are, not as null', () => {
    assert.equal(showValue(Number.NaN), 'NaN');
    assert.equal(showValue(Number.POSITIVE_INFINITY), 'Infinity');
    assert.equal(showValue(-Infinity), '-Infinity');
    assert.equal(showValue(undefined), 'undefined');
    assert.equal(showValue(null), 'null');
    assert.equal(showValue('adamw'), '"adamw"');
    assert.equal(showValue([1, Number.NaN]), '[1,NaN]');
    assert.equal(showValue({ a: Number.NaN, b: [2] }), '{"a":NaN,"b":[2]}');
    assert.equal(
      showValue(() => 1),
      'a function',
    );
    assert.equal(showValue(new Map()), 'a Map');
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    assert.equal(showValue(loop), '{"self":[circular]}');
    assert.equal(showValue('x'.repeat(200)).length, 80);
  });

  it('number names the field, the range and the value got', () => {
    assert.equal(message(number(), Number.NaN), 'demo config: f must be a finite number, got NaN');
    assert.equal(
      message(number({ above: 0 }), 0),
      'demo config: f must be a positive number, got 0',
    );
    assert.equal(
      message(number({ min: 0 }), -1),
      'demo config: f must be a non-negative number, got -1',
    );
    assert.equal(
      message(number({ above: 0, max: 1 }), 1.5),
      'demo config: f must be in (0, 1], got 1.5',
    );
    assert.equal(
      message(number({ min: 1, below: 8 }), 8),
      'demo config: f must be in [1, 8), got 8',
    );
    assert.equal(message(number({ min: 2 }), '3'), 'demo config: f must be a number >= 2, got "3"');
    assert.equal(
      message(number({ above: 0 }), Number.POSITIVE_INFINITY),
      'demo config: f must be a positive number, got Infinity',
    );
    assert.equal(number({ above: 0, below: 1 })(0.5, field), 0.5);
  });

  it('integer refuses fractions, NaN and values out of range', () => {
    assert.equal(
      message(integer({ min: 1 }), 0),
      'demo config: f must be a positive integer, got 0',
    );
    assert.equal(
      message(integer({ min: 0 }), 1.5),
      'demo config: f must be a non-negative integer, got 1.5',
    );
    assert.equal(
      message(integer({ min: 2, max: 8 }), 9),
      'demo config: f must be an integer from 2 to 8, got 9',
    );
    assert.equal(message(integer(), Number.NaN), 'demo config: f must be an integer, got NaN');
    assert.equal(integer({ min: 1 })(3, field), 3);
  });

  it('oneOf, boolean and string name what they accept', () => {
    assert.equal(
      message(oneOf(['adam', 'sgd']), 'adamw'),
      'demo config: f must be one of adam, sgd, got "adamw"',
    );
    assert.equal(message(oneOf([1, 2, 4]), 3), 'demo config: f must be one of 1, 2, 4, got 3');
    assert.equal(message(boolean(), 'yes'), 'demo config: f must be true or false, got "yes"');
    assert.equal(message(string(), 3), 'demo config: f must be a string, got 3');
    assert.equal(
      message(string({ nonEmpty: true }), ''),
      'demo config: f must be a non-empty string, got ""',
    );
    assert.equal(oneOf(['adam', 'sgd'])('sgd', field), 'sgd');
  });

  it('optional lets a field be absent; nullable lets it be null', () => {
    assert.equal(optional(integer())(undefined, field), undefined);
    assert.equal(message(optional(integer()), null), 'demo config: f must be an integer, got null');
    assert.equal(nullable(integer())(null, field), null);
    assert.equal(
      message(nullable(integer()), undefined),
      'demo config: f must be an integer or null, got undefined',
    );
    const rmm = nullable(object({ ratio: number({ above: 0, max: 1 }) }));
    assert.equal(
      message(rmm, { ratio: 0 }),
      'demo config: f.ratio must be in (0, 1], got 0',
      'an error inside the value keeps its own path',
    );
    assert.equal(
      message(rmm, { ratio: 0.5, kind: 'rows' }),
      "demo config: f: unknown field 'kind' (known: ratio)",
      'an unknown field inside the value is named as such',
    );
    assert.equal(message(rmm, 3), 'demo config: f must be an object or null, got 3');
  });

  it('either takes the first check that accepts, else says what it expects', () => {
    const chunk = either(
      [oneOf(['auto', 'off']), integer({ min: 1 })],
      "'auto', 'off' or a positive integer",
    );
    assert.equal(chunk('auto', field), 'auto');
    assert.equal(chunk(4, field), 4);
    assert.equal(
      message(chunk, 0),
      "demo config: f must be 'auto', 'off' or a positive integer, got 0",
    );
    assert.equal(
      message(either([integer(), boolean()]), 'x'),
      'demo config: f must be an integer or true or false, got "x"',
    );
  });

  it('list checks its length and names the entry that is wrong', () => {
    const factors = list(integer({ min: 1 }), { minLength: 2 });
    assert.deepEqual(factors([4, 6], field), [4, 6]);
    assert.equal(
      message(factors, [4]),
      'demo config: f must be a list of at least 2 entries, each a positive integer, got [4]',
    );
    assert.equal(message(factors, [4, 0]), 'demo config: f[1] must be a positive integer, got 0');
    assert.equal(
      message(list(integer(), { length: 2 }), 'ab'),
      'demo config: f must be a list of 2 entries, each an integer, got "ab"',
    );
  });

  it('object refuses unknown fields by name, checks nested paths, leaves absent fields out', () => {
    const shape = object({
      epochs: integer({ min: 1 }),
      mixed: optional(object({ avgBits: number({ min: 1, max: 8 }) })),
    });
    assert.deepEqual(shape({ epochs: 2 }, at), { epochs: 2 });
    assert.ok(!('mixed' in shape({ epochs: 2 }, at)));
    assert.equal(
      message(shape, { epochs: 2, batch: 3 }, at),
      "demo config: unknown field 'batch' (known: epochs, mixed)",
    );
    assert.equal(
      message(shape, { epochs: 2, mixed: { avgBits: 2, perSample: true } }, at),
      "demo config: mixed: unknown field 'perSample' (known: avgBits)",
    );
    assert.equal(
      message(shape, { epochs: 1, mixed: { avgBits: 9 } }, at),
      'demo config: mixed.avgBits must be in [1, 8], got 9',
    );
    assert.equal(message(shape, [1], at), 'demo config must be an object, got [1]');
    assert.equal(message(shape, null, field), 'demo config: f must be an object, got null');
  });

  it('record checks every entry under its name; rejectUnknownFields lists the known ones', () => {
    const overrides = record(object({ skip: optional(boolean()) }), 'layer name');
    assert.deepEqual(overrides({ dense1: { skip: true } }, field), { dense1: { skip: true } });
    assert.equal(
      message(overrides, { dense1: { skip: 1 } }),
      'demo config: f.dense1.skip must be true or false, got 1',
    );
    assert.equal(
      message(overrides, 'dense1'),
      'demo config: f must be an object keyed by layer name, got "dense1"',
    );
    assert.throws(
      () => rejectUnknownFields({ a: 1, z: 2 }, ['a', 'b'], at.field('steps').index(0)),
      { message: "demo config: steps[0]: unknown field 'z' (known: a, b)" },
    );
    assert.throws(() => rejectUnknownFields({ z: 2 }, [], at), {
      message: "demo config: unknown field 'z' (known: none)",
    });
  });
});
