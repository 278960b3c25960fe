import { formatTable, singleLine, type Column } from '../../../../src/cli/dwstat/table';

const columns: Column[] = [
  { header: 'name', align: 'left' },
  { header: 'n', align: 'right' },
  { header: 'note', align: 'left' },
];

describe('formatTable', () => {
  it('pads each column to its widest cell, numbers to the right, text to the left', () => {
    expect(
      formatTable(columns, [
        ['a', '1', 'x'],
        ['longer', '12345', 'yy'],
      ]),
    ).toBe(['name        n  note', 'a           1  x', 'longer  12345  yy'].join('\n'));
  });

  it('leaves no trailing spaces when the last column is short', () => {
    const text = formatTable(columns, [
      ['a', '1', ''],
      ['b', '2', 'a long note'],
    ]);
    expect(text.split('\n')).toEqual(['name  n  note', 'a     1', 'b     2  a long note']);
  });

  it('prints only the header row for an empty table', () => {
    expect(formatTable(columns, [])).toBe('name  n  note');
  });

  it('keeps a cell with a newline on its row', () => {
    expect(formatTable(columns, [['a', '1', 'two\nlines']]).split('\n')).toEqual([
      'name  n  note',
      'a     1  two lines',
    ]);
  });

  it('refuses a row with the wrong number of cells', () => {
    expect(() => formatTable(columns, [['a', '1']])).toThrow('table row has 2 cells, expected 3');
  });
});

describe('singleLine', () => {
  it('turns control characters into single spaces and trims', () => {
    expect(singleLine(' a\r\n\tb  c\u0007 ')).toBe('a b c');
  });
});
