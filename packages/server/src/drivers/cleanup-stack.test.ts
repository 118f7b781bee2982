import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CleanupStack } from './cleanup-stack.js';

test('unwind runs undo steps newest first and keeps going past a failing one', async () => {
  const stack = new CleanupStack();
  const order: string[] = [];
  stack.push('a', () => void order.push('a'));
  stack.push('b', () => {
    order.push('b');
    throw new Error('b broke');
  });
  stack.push('c', async () => void order.push('c'));
  const failures = await stack.unwind();
  assert.deepEqual(order, ['c', 'b', 'a']);
  assert.equal(failures.length, 1);
  assert.match(failures[0]?.message ?? '', /undoing 'b' failed: b broke/);
  assert.equal(stack.size, 0);
});

test('release forgets the steps: nothing is undone after success', async () => {
  const stack = new CleanupStack();
  let undone = false;
  stack.push('x', () => void (undone = true));
  stack.release();
  assert.deepEqual(await stack.unwind(), []);
  assert.equal(undone, false);
});
