import { UsageError } from '../../../../src/errors/exit-codes';
import { DWSTAT_USAGE, parseDwstatArgs } from '../../../../src/cli/dwstat/args';

describe('parseDwstatArgs', () => {
  it('shows the pool table when no subcommand is given', () => {
    expect(parseDwstatArgs([])).toEqual({ tables: ['pools'], json: false, help: false });
  });

  it.each(['pools', 'sessions', 'instances', 'configurations', 'nodes'])(
    'shows only the %s table for its subcommand',
    (name) => {
      expect(parseDwstatArgs([name]).tables).toEqual([name]);
    },
  );

  it('expands most to pools, sessions and instances', () => {
    expect(parseDwstatArgs(['most']).tables).toEqual(['pools', 'sessions', 'instances']);
  });

  it('expands all to every table in display order', () => {
    expect(parseDwstatArgs(['all']).tables).toEqual([
      'pools',
      'sessions',
      'instances',
      'configurations',
      'nodes',
    ]);
  });

  it('accepts --json before or after the subcommand', () => {
    expect(parseDwstatArgs(['--json'])).toEqual({ tables: ['pools'], json: true, help: false });
    expect(parseDwstatArgs(['nodes', '--json'])).toEqual({
      tables: ['nodes'],
      json: true,
      help: false,
    });
    expect(parseDwstatArgs(['--json', 'sessions']).tables).toEqual(['sessions']);
  });

  it('recognises --help and -h', () => {
    expect(parseDwstatArgs(['--help']).help).toBe(true);
    expect(parseDwstatArgs(['-h']).help).toBe(true);
  });

  it('names every subcommand and --json in the usage line', () => {
    expect(DWSTAT_USAGE).toBe(
      'usage: dwstat [pools|sessions|instances|configurations|nodes|most|all] [--json]',
    );
  });

  it.each([
    [['foo'], `dwstat: unknown subcommand "foo"; ${DWSTAT_USAGE}`],
    [['--verbose'], `dwstat: unknown option "--verbose"; ${DWSTAT_USAGE}`],
    [['--json=true'], `dwstat: unknown option "--json=true"; ${DWSTAT_USAGE}`],
    [['-x'], `dwstat: unknown option "-x"; ${DWSTAT_USAGE}`],
    [['pools', 'sessions'], `dwstat: unexpected argument "sessions"; ${DWSTAT_USAGE}`],
    [['sessions', 'foo'], `dwstat: unexpected argument "foo"; ${DWSTAT_USAGE}`],
    [['Pools'], `dwstat: unknown subcommand "Pools"; ${DWSTAT_USAGE}`],
  ])('rejects %j with a usage error', (args, message) => {
    const attempt = () => parseDwstatArgs(args);
    expect(attempt).toThrow(UsageError);
    expect(attempt).toThrow(message);
  });
});
