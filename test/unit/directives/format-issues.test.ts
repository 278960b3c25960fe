import { formatIssues, parseJobScript } from '../../../src/directives';

function job(...lines: string[]): string {
  return ['#!/bin/bash', ...lines, 'srun ./app', ''].join('\n');
}

describe('formatIssues', () => {
  it('gives one actionable line naming each line, directive and option', () => {
    const result = parseJobScript(
      job(
        '#SBATCH -N 1',
        '#DW jobdw capacity=3.5TiB',
        '#DW persistentdw name=p',
        '#DW stage_in sorce=/a destination=$DW_JOB_STRIPED/a type=file',
      ),
    );
    expect(formatIssues(result.issues)).toBe(
      'line 3 (#DW jobdw): capacity=3.5TiB: fractional sizes are not supported; use 3584GiB; ' +
        'line 5 (#DW stage_in): unknown key "sorce"; expected source, destination, type; ' +
        'line 5 (#DW stage_in): source= is required',
    );
  });

  it('returns an empty string for no issues', () => {
    expect(formatIssues([])).toBe('');
  });

  it('never contains a newline, a control character or an apostrophe', () => {
    const text = formatIssues([
      { line: 2, directive: "#DW it's", code: 'bad_value', message: "bad\nvalue\u0001 'x'" },
    ]);
    expect(text).toBe('line 2 (#DW it"s): bad value  "x"');
  });

  it('summarises issues beyond the limit', () => {
    const issues = Array.from({ length: 4 }, (_, index) => ({
      line: index + 2,
      directive: '#DW jobdw',
      code: 'zero_size' as const,
      message: 'capacity=0: size must be greater than 0',
    }));
    expect(formatIssues(issues, { maxIssues: 2 })).toBe(
      'line 2 (#DW jobdw): capacity=0: size must be greater than 0; ' +
        'line 3 (#DW jobdw): capacity=0: size must be greater than 0; and 2 more problems',
    );
  });

  it('shortens a 100 KB token in the message', () => {
    const result = parseJobScript(job(`#DW jobdw capacity=1GiB ${'x'.repeat(100 * 1024)}`));
    const text = formatIssues(result.issues);
    expect(text).toBe(
      `line 2 (#DW jobdw): unexpected word "${'x'.repeat(60)}..."; write options as key=value`,
    );
  });

  it('never cuts a character in two when it shortens a token', () => {
    // 59 ASCII letters, then an emoji: UTF-16 code units 60 and 61 are one character.
    const word = `${'a'.repeat(59)}${'\u{1f600}'.repeat(5)}`;
    const text = formatIssues(parseJobScript(job(`#DW jobdw capacity=1GiB ${word}`)).issues);
    expect(text).toBe(
      `line 2 (#DW jobdw): unexpected word "${'a'.repeat(59)}..."; write options as key=value`,
    );
  });

  it('shortens a long buffer name in the message about the missing persistentdw', () => {
    const name = `b${'x'.repeat(1000)}`;
    const result = parseJobScript(
      job(`#DW stage_in source=/a destination=$DW_PERSISTENT_STRIPED_${name}/a type=file`),
    );
    expect(result.issues.map((issue) => issue.code)).toEqual(['unknown_buffer']);
    const shortened = `${name.slice(0, 60)}...`;
    expect(formatIssues(result.issues)).toBe(
      `line 2 (#DW stage_in): destination=$DW_PERSISTENT_STRIPED_${name.slice(0, 25)}...: ` +
        `$DW_PERSISTENT_STRIPED_${shortened} needs a #DW persistentdw name=${shortened} line`,
    );
  });

  it.each([
    ['#DW jobdw capacity=10X', 'capacity=10X: unknown unit "X"; use K, KiB, KB'],
    [
      '#DW jobdw capacity=1GiB type=cache',
      'type=cache: cache buffers are not supported; use type=scratch',
    ],
    ['#DW swap 2GiB', 'swap is not supported; request space with #DW jobdw capacity=<size>'],
    [
      '#DW create_persistent name=p capacity=1GiB',
      'write #BB create_persistent, not #DW create_persistent',
    ],
    [
      '#BB use_persistent name=p',
      '#BB use_persistent is not supported; use #DW jobdw for a job buffer or #DW persistentdw name=<name>',
    ],
    ['#DW persistentdw name=1p', 'name=1p: names must start with a letter'],
    ['#DW persistentdw name=été', 'name=été: names may use only ASCII letters, digits and _'],
    [
      '#DW stage_in source=/a;b destination=$DW_JOB_STRIPED/a type=file',
      'source=/a;b: the shell character ";" is not allowed in paths',
    ],
    ['#DW jobdw capacity=1GiB capacity=2GiB', 'capacity=2GiB: "capacity" is given more than once'],
    ['#DW jobdw capacity=', 'capacity= has no value'],
  ])('explains %p', (line, expected) => {
    expect(formatIssues(parseJobScript(job(line)).issues)).toContain(expected);
  });

  it('explains a stage into a buffer the job does not have', () => {
    const result = parseJobScript(
      job('#DW stage_in source=/a destination=$DW_JOB_STRIPED/a type=file'),
    );
    expect(formatIssues(result.issues)).toBe(
      'line 2 (#DW stage_in): destination=$DW_JOB_STRIPED/a: $DW_JOB_STRIPED needs a #DW jobdw line',
    );
  });
});
