/**
 * A child's output as lines (output-lines.ts): chunks cut anywhere, even inside a character.
 */
import { LineSplitter, LineTail } from '../../../src/pfsprovider/output-lines';

function split(chunks: Buffer[], end = true): string[] {
  const lines: string[] = [];
  const splitter = new LineSplitter((line) => lines.push(line));
  for (const chunk of chunks) splitter.write(chunk);
  if (end) splitter.end();
  return lines;
}

describe('LineSplitter', () => {
  it('joins a line cut over several chunks, and cuts a chunk of several lines', () => {
    expect(
      split([Buffer.from('fir'), Buffer.from('st\nsec'), Buffer.from('ond\nthird\n')]),
    ).toEqual(['first', 'second', 'third']);
  });

  it('drops the \\r of a \\r\\n, also when the two come in different chunks, and no other', () => {
    expect(split([Buffer.from('a\r'), Buffer.from('\nb\rc\r\n')])).toEqual(['a', 'b\rc']);
  });

  it('passes blank lines on', () => {
    expect(split([Buffer.from('a\n\n\nb\n')])).toEqual(['a', '', '', 'b']);
  });

  it('gives the last line without a newline only at the end', () => {
    expect(split([Buffer.from('done\nhalf')], false)).toEqual(['done']);
    expect(split([Buffer.from('done\nhalf')])).toEqual(['done', 'half']);
    expect(split([Buffer.from('done\n')])).toEqual(['done']);
    expect(split([])).toEqual([]);
  });

  it('keeps a character whole when a chunk ends inside it', () => {
    const bytes = Buffer.from('héllo wörld\n', 'utf8');
    const cut = bytes.indexOf(0xc3) + 1; // between the two bytes of é
    expect(split([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual(['héllo wörld']);
    // Every cut, one byte at a time.
    expect(split([...bytes].map((byte) => Buffer.from([byte])))).toEqual(['héllo wörld']);
  });
});

describe('LineTail', () => {
  it('keeps the last lines, oldest first', () => {
    const tail = new LineTail(3);
    for (const line of ['1', '2', '3', '4', '5']) tail.push(line);
    expect(tail.lines()).toEqual(['3', '4', '5']);
  });

  it('keeps fewer when fewer came, none with a limit of 0', () => {
    const tail = new LineTail(3);
    tail.push('only');
    expect(tail.lines()).toEqual(['only']);
    const none = new LineTail(0);
    none.push('x');
    expect(none.lines()).toEqual([]);
  });

  it('hands out a copy', () => {
    const tail = new LineTail(2);
    tail.push('a');
    tail.lines().push('b');
    expect(tail.lines()).toEqual(['a']);
  });
});
