import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AirlockError, ConfigError } from '../../src/errors/airlock-error.js';
import { JSONRPC_INTERNAL_ERROR, toWireError, WireError } from '../../src/errors/wire-error.js';

test('local errors keep a stable code and map to -32603 on the wire', () => {
  const wire = toWireError(new AirlockError('AIRLOCK_UPSTREAM_DOWN', 'upstream erp is restarting'));
  assert.equal(wire.rpcCode, JSONRPC_INTERNAL_ERROR);
  assert.deepEqual(wire.toJSON(), {
    code: -32603,
    message: 'upstream erp is restarting',
    data: { airlock: 'AIRLOCK_UPSTREAM_DOWN' },
  });
});

test('unknown failures never leak their message to the wire', () => {
  const wire = toWireError(new Error('secret path /etc/airlock/key.pem'));
  assert.equal(wire.airlockCode, 'AIRLOCK_INTERNAL');
  assert.doesNotMatch(wire.message, /key\.pem/);
});

test('wire errors pass through unchanged', () => {
  const original = new WireError(-32602, 'AIRLOCK_ARGS_INVALID', 'field "id" must be a string');
  assert.equal(toWireError(original), original);
});

test('config errors name file and line', () => {
  const err = new ConfigError('expected a number at "tunnels"', { file: 'connector.yaml', line: 7 });
  assert.equal(err.code, 'AIRLOCK_CONFIG_INVALID');
  assert.match(err.message, /^connector\.yaml:7: expected a number/);
});
