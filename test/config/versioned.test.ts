import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ConfigVersionError,
  integer,
  object,
  oneOf,
  versionedConfig,
} from '../../src/config/index.js';

interface Demo {
  version: 2;
  epochs: number;
  optimizer: 'adam' | 'sgd';
}

const fields = object({ epochs: integer({ min: 1 }), optimizer: oneOf(['adam', 'sgd']) });
const demo = versionedConfig<Demo>({
  name: 'demo config',
  version: 2,
  check: (raw, at) => fields({ epochs: 1, optimizer: 'adam', ...raw }, at),
});

describe('versioned configs', () => {
  it('validate fills defaults and puts the version first', () => {
    const c = demo.validate({ epochs: 3 });
    assert.deepEqual(c, { version: 2, epochs: 3, optimizer: 'adam' });
    assert.equal(Object.keys(c)[0], 'version');
  });

  it('survive a JSON round trip: parse(toJSON(c)) equals validate(c)', () => {
    const text = demo.toJSON({ epochs: 4, optimizer: 'sgd' });
    assert.equal(JSON.parse(text).version, 2);
    assert.deepEqual(demo.parse(text), demo.validate({ epochs: 4, optimizer: 'sgd' }));
    assert.deepEqual(demo.parse(demo.toJSON(demo.parse(text))), demo.parse(text));
  });

  it('refuse another version, naming the one found and the one read', () => {
    const newer = () => demo.validate({ version: 3, epochs: 1 });
    assert.throws(newer, ConfigVersionError);
    assert.throws(newer, {
      message:
        'demo config: version must be 2, got 3 (this frugal reads version 2; the config was written by a newer frugal)',
    });
    assert.throws(() => demo.parse('{"version":1,"epochs":1}'), {
      message: 'demo config: version must be 2, got 1 (this frugal reads version 2)',
    });
    assert.throws(() => demo.validate({ version: '2' }), /version must be 2, got "2"/);
  });

  it('parse needs a version; validate takes a config without one as this version', () => {
    assert.throws(() => demo.parse('{"epochs":1}'), {
      message: 'demo config: version must be 2, got undefined (this frugal reads version 2)',
    });
    assert.equal(demo.validate({}).version, 2);
    const strict = versionedConfig<Demo>({
      name: 'strict config',
      version: 2,
      versionRequired: true,
      check: (raw, at) => fields(raw, at),
    });
    assert.throws(() => strict.validate({ epochs: 1, optimizer: 'sgd' }), /got undefined/);
  });

  it('name bad JSON, a non-object, and unknown fields with version among the known', () => {
    assert.throws(() => demo.parse('{"version":2,'), {
      message: /^demo config: not valid JSON \(/,
    });
    assert.throws(() => demo.parse('[2]'), { message: 'demo config must be an object, got [2]' });
    assert.throws(() => demo.validate({ epochs: 1, colour: 'red' }), {
      message: "demo config: unknown field 'colour' (known: version, epochs, optimizer)",
    });
    assert.throws(() => demo.validate({ epochs: Number.NaN }), {
      message: 'demo config: epochs must be a positive integer, got NaN',
    });
  });
});
