import { UsageError } from '../../../../src/errors/exit-codes';
import { MAX_HOSTS, expandHostList } from '../../../../src/cli/admin/hostlist';

describe('expandHostList', () => {
  it.each<[string, string[]]>([
    ['dac1', ['dac1']],
    ['dac1,dac2', ['dac1', 'dac2']],
    ['dac[1-3]', ['dac1', 'dac2', 'dac3']],
    ['dac[01-03,15]', ['dac01', 'dac02', 'dac03', 'dac15']],
    ['dac[08-10]', ['dac08', 'dac09', 'dac10']],
    ['dac[9-11]', ['dac9', 'dac10', 'dac11']],
    ['r[1-2]n[1-2]', ['r1n1', 'r1n2', 'r2n1', 'r2n2']],
    ['dac[1-2]-ib', ['dac1-ib', 'dac2-ib']],
    ['a,dac[1-2],b', ['a', 'dac1', 'dac2', 'b']],
    ['dac1,dac1,dac[1-2]', ['dac1', 'dac2']],
    ['dac[0]', ['dac0']],
    [' storage1 ', ['storage1']],
  ])('%s', (list, names) => {
    expect(expandHostList(list)).toEqual(names);
  });

  it.each<[string, string]>([
    ['', 'empty name'],
    ['a,,b', 'empty name'],
    ['a,', 'empty name'],
    ['dac[1-3', 'not closed'],
    ['dac1-3]', 'do not pair up'],
    ['dac[[1]]', 'do not pair up'],
    ['dac[a-b]', 'numbers and ranges'],
    ['dac[]', 'numbers and ranges'],
    ['dac[3-1]', 'runs backwards'],
    ['dac[1-100000]', `more than ${MAX_HOSTS} hosts`],
    ['r[1-200]n[1-200]', `more than ${MAX_HOSTS} hosts`],
  ])('refuses %j (%s), naming the list', (list, why) => {
    let error: unknown;
    try {
      expandHostList(list);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toContain(`host list "${list}": `);
    expect((error as Error).message).toContain(why);
  });
});
