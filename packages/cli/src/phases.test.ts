import assert from 'node:assert/strict';
import { test } from 'node:test';
import { phasesTable } from './phases.js';

test('phasesTable: a row per phase (total last), a column per timed operation, blanks where one has no such phase', () => {
  const out = phasesTable({
    create: { image: 0.5, driver: 14.25, total: 20 },
    start: undefined,
    lastExec: { started: 0.7, total: 2.125 },
  });
  assert.equal(out, [
    'PHASE (ms)  CREATE  LAST EXEC',
    'image       0.50    ',
    'driver      14.25   ',
    'started             0.70',
    'total       20.00   2.13',
    '',
  ].join('\n'));
  assert.equal(phasesTable({}), '');
});
