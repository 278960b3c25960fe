import { normaliseArgv } from '../../../src/cli/argv';

describe('normaliseArgv', () => {
  it('turns Slurm style --function X into a bare function name', () => {
    expect(normaliseArgv(['--function', 'pools'])).toEqual(['pools']);
    expect(normaliseArgv(['--function', 'teardown', '--token', '5', '--hurry'])).toEqual([
      'teardown',
      '--token',
      '5',
      '--hurry',
    ]);
    expect(normaliseArgv(['--function=setup', '--token', '1'])).toEqual(['setup', '--token', '1']);
  });
  it('leaves a bare function name alone', () => {
    expect(normaliseArgv(['show_sessions'])).toEqual(['show_sessions']);
    expect(normaliseArgv([])).toEqual([]);
  });
});
