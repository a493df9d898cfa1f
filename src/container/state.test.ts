import { test } from 'node:test';
import assert from 'node:assert/strict';
import { State, simpleStatus, stateString } from './state.js';

const fields = ['Status', 'Running', 'Paused', 'Restarting', 'OOMKilled', 'Dead', 'Pid', 'ExitCode', 'Error', 'StartedAt', 'FinishedAt'];

test('a new state has the fields of config.v2.json in their order, and no Health', () => {
  const s = new State();
  assert.deepEqual(Object.keys(s), fields);
  assert.equal(JSON.stringify(s), '{"Status":"created","Running":false,"Paused":false,"Restarting":false,"OOMKilled":false,"Dead":false,"Pid":0,"ExitCode":0,"Error":"","StartedAt":"0001-01-01T00:00:00Z","FinishedAt":"0001-01-01T00:00:00Z"}');
  assert.equal(simpleStatus(s, false), 'created');
});

test('a state read back from disk keeps its fields, Health last', () => {
  const json = JSON.stringify({ ...new State(), Status: 'exited', ExitCode: 3, StartedAt: '2026-01-01T00:00:00Z', Health: { Status: 'unhealthy', FailingStreak: 2, Log: [] } });
  const s = State.from(JSON.parse(json));
  assert.ok(s instanceof State);
  assert.equal(JSON.stringify(s), json);
});

test('run, exit, restart, pause: the fields that belong together change together', () => {
  const s = new State();
  s.setError('old failure');
  s.setRunning(42);
  assert.deepEqual({ ...s, StartedAt: '' }, { ...new State(), Status: 'running', Running: true, Pid: 42, StartedAt: '' });
  s.setPaused();
  assert.equal(simpleStatus(s, false), 'paused');
  s.setUnpaused();
  assert.equal(s.Status, 'running');

  s.setStopped({ exitCode: 137, oomKilled: true, exitedAt: new Date('2026-01-02T03:04:05.678Z') });
  assert.equal(s.FinishedAt, '2026-01-02T03:04:05.678Z');
  assert.deepEqual([s.Status, s.Running, s.Pid, s.ExitCode, s.OOMKilled, s.Error], ['exited', false, 0, 137, true, '']);

  s.setRestarting(137, true);
  assert.deepEqual([s.Status, s.Running, s.Restarting, s.Pid], ['restarting', true, true, 0]);
  assert.match(stateString(s, false, Date.parse(s.FinishedAt) + 2000), /^Restarting \(137\) 2 seconds ago$/);

  s.setError('start failed');
  s.setRestartEnded();
  assert.deepEqual([s.Status, s.Running, s.Restarting, s.ExitCode, s.Error], ['exited', false, false, 137, 'start failed']);
  assert.deepEqual(Object.keys(s), fields);
});
