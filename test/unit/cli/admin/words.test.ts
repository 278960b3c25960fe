import { isAdminCommand } from '../../../../src/cli/admin/words';

describe('isAdminCommand', () => {
  it.each<[string[], boolean]>([
    [['pools'], false],
    [['pools', '--token', '1'], false],
    [['--function', 'pools'], false],
    [['setup', '--token', '1'], false],
    [['pools', 'list'], true],
    [['pools', 'show', 'default'], true],
    [['pools', '--help'], true],
    [['hosts'], true],
    [['df'], true],
    [['events', '--follow'], true],
    [['bricks', 'list'], true],
    [[], false],
  ])('%j: %s', (args, admin) => {
    expect(isAdminCommand(args)).toBe(admin);
  });
});
