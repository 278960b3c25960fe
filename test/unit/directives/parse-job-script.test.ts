import {
  parseJobScript,
  type Directive,
  type IssueCode,
  type ParsedJobScript,
} from '../../../src/directives';

const KiB = 1024n;
const MiB = KiB ** 2n;
const GiB = KiB ** 3n;
const TiB = KiB ** 4n;

/** A batch script as Slurm stores it: shebang, the lines, a command, a newline and a NUL. */
function job(...lines: string[]): string {
  return ['#!/bin/bash', ...lines, 'srun ./app', ''].join('\n') + '\0';
}

/** Issues as [line, code], ordered by line then code so the order within a line is free. */
function issueCodes(result: ParsedJobScript): Array<[number, IssueCode]> {
  return result.issues
    .map((issue): [number, IssueCode] => [issue.line, issue.code])
    .sort((a, b) => a[0] - b[0] || a[1].localeCompare(b[1]));
}

function jobdw(line: number, capacityBytes: bigint, extra: Partial<Directive> = {}): Directive {
  return {
    kind: 'jobdw',
    line,
    capacityBytes,
    accessMode: 'striped',
    type: 'scratch',
    ...extra,
  } as Directive;
}

interface Case {
  name: string;
  script: string;
  directives?: Directive[];
  issues?: Array<[number, IssueCode]>;
}

const STAGE_IN = (source: string, destination: string, type = 'file'): string =>
  `#DW stage_in source=${source} destination=${destination} type=${type}`;
const STAGE_OUT = (source: string, destination: string, type = 'file'): string =>
  `#DW stage_out source=${source} destination=${destination} type=${type}`;
const JOBDW = '#DW jobdw capacity=1GiB';

const valid: Case[] = [
  { name: 'accepts a jobdw with defaults', script: job(JOBDW), directives: [jobdw(2, GiB)] },
  ...(
    [
      ['1048576', MiB],
      ['2K', 2n * KiB],
      ['2kib', 2n * KiB],
      ['2kB', 2000n],
      ['3m', 3n * MiB],
      ['3MiB', 3n * MiB],
      ['3mb', 3_000_000n],
      ['5g', 5n * GiB],
      ['5GIB', 5n * GiB],
      ['5GB', 5_000_000_000n],
      ['7t', 7n * TiB],
      ['7TiB', 7n * TiB],
      ['7Tb', 7n * 1000n ** 4n],
      ['1p', KiB ** 5n],
      ['1PiB', KiB ** 5n],
      ['1PB', 1000n ** 5n],
    ] as const
  ).map(([size, bytes]) => ({
    name: `accepts capacity=${size} as ${bytes} bytes`,
    script: job(`#DW jobdw capacity=${size}`),
    directives: [jobdw(2, bytes)],
  })),
  {
    name: 'accepts every jobdw option',
    script: job('#DW jobdw capacity=10GiB access_mode=private type=scratch pool=wlm_pool'),
    directives: [jobdw(2, 10n * GiB, { accessMode: 'private', pool: 'wlm_pool' })],
  },
  {
    name: 'reads access_mode=striped,private as both',
    script: job('#DW jobdw capacity=1GiB access_mode=striped,private'),
    directives: [jobdw(2, GiB, { accessMode: 'striped,private' })],
  },
  {
    name: 'reads access_mode=private,striped as both',
    script: job('#DW jobdw capacity=1GiB access_mode=private,striped'),
    directives: [jobdw(2, GiB, { accessMode: 'striped,private' })],
  },
  {
    name: 'lower-cases keys',
    script: job('#DW jobdw CAPACITY=1GiB Access_Mode=private'),
    directives: [jobdw(2, GiB, { accessMode: 'private' })],
  },
  {
    name: 'splits on runs of spaces and tabs',
    script: job('#DW   jobdw \t capacity=1GiB   \t'),
    directives: [jobdw(2, GiB)],
  },
  {
    name: 'accepts a persistentdw and ignores a repeat of it',
    script: job('#DW persistentdw name=p1', '#DW persistentdw name=p1'),
    directives: [{ kind: 'persistentdw', line: 2, name: 'p1' }],
  },
  {
    name: 'accepts a 64-character persistent name',
    script: job(`#DW persistentdw name=a${'b'.repeat(63)}`),
    directives: [{ kind: 'persistentdw', line: 2, name: `a${'b'.repeat(63)}` }],
  },
  {
    name: 'accepts stage_in and stage_out through the job buffer with %j and %u symbols',
    script: job(
      JOBDW,
      STAGE_IN('/home/u/in_%j.dat', '$DW_JOB_STRIPED/in.dat'),
      STAGE_OUT('$DW_JOB_STRIPED/out', '/home/%u/out_%j', 'directory'),
    ),
    directives: [
      jobdw(2, GiB),
      {
        kind: 'stage_in',
        line: 3,
        source: '/home/u/in_%j.dat',
        destination: '$DW_JOB_STRIPED/in.dat',
        type: 'file',
        buffer: { kind: 'job' },
      },
      {
        kind: 'stage_out',
        line: 4,
        source: '$DW_JOB_STRIPED/out',
        destination: '/home/%u/out_%j',
        type: 'directory',
        buffer: { kind: 'job' },
      },
    ],
  },
  {
    name: 'accepts a list stage into the root of the job buffer',
    script: job(JOBDW, STAGE_IN('/home/u/pairs.txt', '$DW_JOB_STRIPED', 'list')),
    directives: [
      jobdw(2, GiB),
      {
        kind: 'stage_in',
        line: 3,
        source: '/home/u/pairs.txt',
        destination: '$DW_JOB_STRIPED',
        type: 'list',
        buffer: { kind: 'job' },
      },
    ],
  },
  {
    name: 'accepts a stage into a persistent buffer named by persistentdw',
    script: job(
      '#DW persistentdw name=my_buf',
      STAGE_IN('/d/x', '$DW_PERSISTENT_STRIPED_my_buf/x'),
    ),
    directives: [
      { kind: 'persistentdw', line: 2, name: 'my_buf' },
      {
        kind: 'stage_in',
        line: 3,
        source: '/d/x',
        destination: '$DW_PERSISTENT_STRIPED_my_buf/x',
        type: 'file',
        buffer: { kind: 'persistent', name: 'my_buf' },
      },
    ],
  },
  {
    name: 'accepts UTF-8 in paths',
    script: job(JOBDW, STAGE_IN('/home/u/données/é.txt', '$DW_JOB_STRIPED/é.txt')),
    directives: [
      jobdw(2, GiB),
      {
        kind: 'stage_in',
        line: 3,
        source: '/home/u/données/é.txt',
        destination: '$DW_JOB_STRIPED/é.txt',
        type: 'file',
        buffer: { kind: 'job' },
      },
    ],
  },
  {
    name: 'returns #BB create_persistent typed',
    script: job('#BB create_persistent name=p1 capacity=1GiB access=striped type=scratch pool=a'),
    directives: [
      {
        kind: 'create_persistent',
        line: 2,
        name: 'p1',
        capacityBytes: GiB,
        accessMode: 'striped',
        type: 'scratch',
        pool: 'a',
      },
    ],
  },
  {
    name: 'leaves access and type unset on a create_persistent that omits them',
    script: job('#BB create_persistent name=p1 capacity=1TB'),
    directives: [{ kind: 'create_persistent', line: 2, name: 'p1', capacityBytes: 1000n ** 4n }],
  },
  {
    name: 'accepts access_mode= on create_persistent',
    script: job('#BB create_persistent name=p1 capacity=2G access_mode=private,striped'),
    directives: [
      {
        kind: 'create_persistent',
        line: 2,
        name: 'p1',
        capacityBytes: 2n * GiB,
        accessMode: 'striped,private',
      },
    ],
  },
  {
    name: 'reads hurry on destroy_persistent',
    script: job('#BB destroy_persistent name=p1 hurry'),
    directives: [{ kind: 'destroy_persistent', line: 2, name: 'p1', hurry: true }],
  },
  {
    name: 'reads destroy_persistent without hurry',
    script: job('#BB destroy_persistent name=p1'),
    directives: [{ kind: 'destroy_persistent', line: 2, name: 'p1', hurry: false }],
  },
  {
    name: 'does not treat "# DW" as a directive',
    script: job('# DW jobdw capacity=1GiB'),
    directives: [],
  },
  {
    name: 'skips #SBATCH lines and comments between directives',
    script: job('#SBATCH -N 2', '## notes', JOBDW, '#SBATCH -t 10'),
    directives: [jobdw(4, GiB)],
  },
  {
    name: 'ignores directives after the first command',
    script: ['#!/bin/bash', 'echo start', JOBDW, ''].join('\n'),
    directives: [],
  },
  {
    name: 'ignores directives after a line of spaces',
    script: ['#!/bin/bash', '  ', JOBDW, ''].join('\n'),
    directives: [],
  },
  {
    name: 'keeps scanning after an empty line',
    script: ['#!/bin/bash', '', '', JOBDW, ''].join('\n'),
    directives: [jobdw(4, GiB)],
  },
  {
    name: 'reads an interactive script with no final newline',
    script: `#!/bin/bash\n${JOBDW}`,
    directives: [jobdw(2, GiB)],
  },
  {
    name: 'reads a script ending in several NUL bytes',
    script: `#!/bin/bash\n${JOBDW}\n\0\0\0`,
    directives: [jobdw(2, GiB)],
  },
  {
    name: 'joins continuation lines into one directive',
    script: job('#DW jobdw \\', '#DW   capacity=2GiB \\', '#DW access_mode=private'),
    directives: [jobdw(2, 2n * GiB, { accessMode: 'private' })],
  },
  {
    name: 'joins a path continued without a space',
    script: job(
      JOBDW,
      '#DW stage_in type=file destination=$DW_JOB_STRIPED/x source=/data/lo\\',
      '#DWng/in',
    ),
    directives: [
      jobdw(2, GiB),
      {
        kind: 'stage_in',
        line: 3,
        source: '/data/long/in',
        destination: '$DW_JOB_STRIPED/x',
        type: 'file',
        buffer: { kind: 'job' },
      },
    ],
  },
  {
    name: 'returns no directives for a script without any',
    script: '#!/bin/bash\n#SBATCH -N 1\nsrun hostname\n\0',
    directives: [],
  },
];

const invalid: Case[] = [
  {
    name: 'rejects capacity=3.5TB',
    script: job('#DW jobdw capacity=3.5TB'),
    issues: [[2, 'fractional_size']],
  },
  {
    name: 'rejects capacity=1.5TiB',
    script: job('#DW jobdw capacity=1.5TiB'),
    issues: [[2, 'fractional_size']],
  },
  {
    name: 'rejects capacity=0.5GiB',
    script: job('#DW jobdw capacity=0.5GiB'),
    issues: [[2, 'fractional_size']],
  },
  {
    name: 'rejects the unknown unit in 10X',
    script: job('#DW jobdw capacity=10X'),
    issues: [[2, 'unknown_size_unit']],
  },
  {
    name: 'rejects the unknown unit in 10B',
    script: job('#DW jobdw capacity=10B'),
    issues: [[2, 'unknown_size_unit']],
  },
  { name: 'rejects capacity=0', script: job('#DW jobdw capacity=0'), issues: [[2, 'zero_size']] },
  {
    name: 'rejects capacity=0GiB',
    script: job('#DW jobdw capacity=0GiB'),
    issues: [[2, 'zero_size']],
  },
  {
    name: 'rejects an empty capacity=',
    script: job('#DW jobdw capacity='),
    issues: [[2, 'empty_value']],
  },
  {
    name: 'rejects a non-numeric capacity',
    script: job('#DW jobdw capacity=lots'),
    issues: [[2, 'bad_size']],
  },
  {
    name: 'rejects a negative capacity',
    script: job('#DW jobdw capacity=-1GiB'),
    issues: [[2, 'bad_size']],
  },
  {
    name: 'rejects a capacity in nodes',
    script: job('#DW jobdw capacity=4N'),
    issues: [[2, 'not_implemented']],
  },
  {
    name: 'rejects a jobdw without capacity',
    script: job('#DW jobdw access_mode=striped'),
    issues: [[2, 'missing_option']],
  },
  { name: 'rejects a bare #DW jobdw', script: job('#DW jobdw'), issues: [[2, 'missing_option']] },
  {
    name: 'rejects a key given twice on one line',
    script: job('#DW jobdw capacity=1GiB capacity=2GiB'),
    issues: [[2, 'duplicate_key']],
  },
  {
    name: 'rejects a second jobdw',
    script: job(JOBDW, '#DW jobdw capacity=2GiB'),
    issues: [[3, 'duplicate_directive']],
  },
  {
    name: 'rejects access_mode=both',
    script: job('#DW jobdw capacity=1GiB access_mode=both'),
    issues: [[2, 'bad_value']],
  },
  {
    name: 'rejects access_mode=ldbalance as not implemented',
    script: job('#DW jobdw capacity=1GiB access_mode=ldbalance'),
    issues: [[2, 'not_implemented']],
  },
  {
    name: 'rejects type=cache as not implemented',
    script: job('#DW jobdw capacity=1GiB type=cache'),
    issues: [[2, 'not_implemented']],
  },
  {
    name: 'rejects an unknown buffer type',
    script: job('#DW jobdw capacity=1GiB type=fast'),
    issues: [[2, 'bad_value']],
  },
  {
    name: 'rejects a misspelt key and reports the missing one',
    script: job('#DW jobdw capcity=1GiB'),
    issues: [
      [2, 'missing_option'],
      [2, 'unknown_key'],
    ],
  },
  {
    name: 'rejects an unknown #DW command',
    script: job('#DW jobdwx capacity=1GiB'),
    issues: [[2, 'unknown_command']],
  },
  { name: 'rejects #DW with no command', script: job('#DW'), issues: [[2, 'unknown_command']] },
  ...['constructor', 'toString', '__proto__'].map((command) => ({
    name: `rejects #DW ${command} as an unknown command, not a member of Object.prototype`,
    script: job(`#DW ${command} capacity=1GiB`),
    issues: [[2, 'unknown_command']] as Array<[number, IssueCode]>,
  })),
  {
    name: 'rejects #BB hasOwnProperty as an unsupported command',
    script: job('#BB hasOwnProperty name=p'),
    issues: [[2, 'unsupported_bb_command']],
  },
  {
    name: 'rejects swap as not implemented',
    script: job('#DW swap 2GiB'),
    issues: [[2, 'not_implemented']],
  },
  {
    name: 'rejects #DW create_persistent (Slurm wants #BB)',
    script: job('#DW create_persistent name=p capacity=1GiB'),
    issues: [[2, 'wrong_prefix']],
  },
  {
    name: 'rejects #DW destroy_persistent',
    script: job('#DW destroy_persistent name=p'),
    issues: [[2, 'wrong_prefix']],
  },
  {
    name: 'rejects #BB use_persistent',
    script: job('#BB use_persistent name=p'),
    issues: [[2, 'unsupported_bb_command']],
  },
  {
    name: 'rejects #BB jobdw',
    script: job('#BB jobdw capacity=1GiB'),
    issues: [[2, 'unsupported_bb_command']],
  },
  {
    name: 'rejects #BB_LUA lines as #BB lines',
    script: job('#BB_LUA pool=x'),
    issues: [[2, 'unsupported_bb_command']],
  },
  {
    name: 'rejects an option with no name',
    script: job('#DW jobdw capacity=1GiB =x'),
    issues: [[2, 'malformed_option']],
  },
  {
    name: 'rejects a bare word on jobdw',
    script: job('#DW jobdw capacity=1GiB fast'),
    issues: [[2, 'unexpected_argument']],
  },
  {
    name: 'rejects hurry on create_persistent',
    script: job('#BB create_persistent name=p capacity=1GiB hurry'),
    issues: [[2, 'unexpected_argument']],
  },
  {
    name: 'rejects a persistentdw without a name',
    script: job('#DW persistentdw'),
    issues: [[2, 'missing_option']],
  },
  {
    name: 'rejects a name starting with a digit',
    script: job('#DW persistentdw name=1abc'),
    issues: [[2, 'bad_name']],
  },
  {
    name: 'rejects a name with a dash',
    script: job('#DW persistentdw name=bad-name'),
    issues: [[2, 'bad_name']],
  },
  {
    name: 'rejects a 65-character name',
    script: job(`#DW persistentdw name=a${'b'.repeat(64)}`),
    issues: [[2, 'bad_name']],
  },
  {
    name: 'rejects a non-ASCII name',
    script: job('#DW persistentdw name=café'),
    issues: [[2, 'bad_name']],
  },
  {
    name: 'rejects %j in a persistent name',
    script: job('#DW persistentdw name=buf_%j'),
    issues: [[2, 'bad_name']],
  },
  {
    name: 'rejects a stage without source',
    script: job(JOBDW, '#DW stage_in destination=$DW_JOB_STRIPED/x type=file'),
    issues: [[3, 'missing_option']],
  },
  {
    name: 'rejects a stage without destination',
    script: job(JOBDW, '#DW stage_out source=$DW_JOB_STRIPED/x type=file'),
    issues: [[3, 'missing_option']],
  },
  {
    name: 'rejects a stage without type',
    script: job(JOBDW, '#DW stage_in source=/a destination=$DW_JOB_STRIPED/a'),
    issues: [[3, 'missing_option']],
  },
  {
    name: 'rejects an unknown stage type',
    script: job(JOBDW, STAGE_IN('/a', '$DW_JOB_STRIPED/a', 'symlink')),
    issues: [[3, 'bad_value']],
  },
  {
    name: 'rejects ";rm -rf /" in a path and the stray words after it',
    script: job(JOBDW, STAGE_IN('/a;rm -rf /', '$DW_JOB_STRIPED/a')),
    issues: [
      [3, 'unexpected_argument'],
      [3, 'unexpected_argument'],
      [3, 'unsafe_path'],
    ],
  },
  {
    name: 'rejects $(...) in a path',
    script: job(JOBDW, STAGE_IN('/a/$(whoami)', '$DW_JOB_STRIPED/a')),
    issues: [[3, 'unsafe_path']],
  },
  {
    name: 'rejects backquotes in a path',
    script: job(JOBDW, STAGE_IN('/a/`id`', '$DW_JOB_STRIPED/a')),
    issues: [[3, 'unsafe_path']],
  },
  {
    name: 'rejects | in a path',
    script: job(JOBDW, STAGE_OUT('$DW_JOB_STRIPED/a', '/a|b')),
    issues: [[3, 'unsafe_path']],
  },
  {
    name: 'rejects & in a path',
    script: job(JOBDW, STAGE_IN('/a&b', '$DW_JOB_STRIPED/a')),
    issues: [[3, 'unsafe_path']],
  },
  {
    name: 'rejects > in a path',
    script: job(JOBDW, STAGE_OUT('$DW_JOB_STRIPED/a', '/a>b')),
    issues: [[3, 'unsafe_path']],
  },
  {
    name: 'rejects < in a path',
    script: job(JOBDW, STAGE_IN('/a<b', '$DW_JOB_STRIPED/a')),
    issues: [[3, 'unsafe_path']],
  },
  {
    name: 'rejects a control character in a path',
    script: job(JOBDW, STAGE_IN('/a\u0001b', '$DW_JOB_STRIPED/a')),
    issues: [[3, 'unsafe_path']],
  },
  {
    name: 'rejects .. escaping the job buffer',
    script: job(JOBDW, STAGE_IN('/a', '$DW_JOB_STRIPED/../../etc')),
    issues: [[3, 'path_escape']],
  },
  {
    name: 'rejects .. in a file-system path',
    script: job(JOBDW, STAGE_IN('/home/../etc/passwd', '$DW_JOB_STRIPED/p')),
    issues: [[3, 'path_escape']],
  },
  {
    name: 'rejects a relative source',
    script: job(JOBDW, STAGE_IN('data/in.txt', '$DW_JOB_STRIPED/in.txt')),
    issues: [[3, 'relative_path']],
  },
  {
    name: 'rejects a relative stage_out destination',
    script: job(JOBDW, STAGE_OUT('$DW_JOB_STRIPED/o', 'out.txt')),
    issues: [[3, 'relative_path']],
  },
  {
    name: 'rejects a ~ path',
    script: job(JOBDW, STAGE_IN('~/in', '$DW_JOB_STRIPED/in')),
    issues: [[3, 'relative_path']],
  },
  {
    name: 'rejects variables other than the buffer ones',
    script: job(JOBDW, STAGE_IN('$HOME/in', '$DW_JOB_STRIPED/in')),
    issues: [[3, 'bad_path']],
  },
  {
    name: 'rejects staging into $DW_JOB_PRIVATE',
    script: job(JOBDW, STAGE_IN('/in', '$DW_JOB_PRIVATE/in')),
    issues: [[3, 'bad_path']],
  },
  {
    name: 'rejects a stage_in whose destination is outside the buffer',
    script: job(JOBDW, STAGE_IN('/in', '/tmp/in')),
    issues: [[3, 'wrong_side']],
  },
  {
    name: 'rejects a stage_in with both sides swapped',
    script: job(JOBDW, STAGE_IN('$DW_JOB_STRIPED/in', '/home/u/in')),
    issues: [
      [3, 'wrong_side'],
      [3, 'wrong_side'],
    ],
  },
  {
    name: 'rejects a stage_out whose source is outside the buffer',
    script: job(JOBDW, STAGE_OUT('/home/u/a', '/home/u/b')),
    issues: [[3, 'wrong_side']],
  },
  {
    name: 'rejects $DW_JOB_STRIPED without a jobdw',
    script: job('#DW persistentdw name=p', STAGE_IN('/in', '$DW_JOB_STRIPED/in')),
    issues: [[3, 'unknown_buffer']],
  },
  {
    name: 'rejects $DW_JOB_STRIPED with a private-only jobdw',
    script: job(
      '#DW jobdw capacity=1GiB access_mode=private',
      STAGE_IN('/in', '$DW_JOB_STRIPED/in'),
    ),
    issues: [[3, 'unknown_buffer']],
  },
  {
    name: 'rejects a persistent buffer path not named by persistentdw',
    script: job('#DW persistentdw name=p1', STAGE_OUT('$DW_PERSISTENT_STRIPED_p2/o', '/home/o')),
    issues: [[3, 'unknown_buffer']],
  },
  {
    name: 'rejects a create_persistent without capacity',
    script: job('#BB create_persistent name=p1'),
    issues: [[2, 'missing_option']],
  },
  {
    name: 'rejects a fractional create_persistent capacity',
    script: job('#BB create_persistent name=p1 capacity=1.5TiB'),
    issues: [[2, 'fractional_size']],
  },
  {
    name: 'rejects a create_persistent name starting with a digit',
    script: job('#BB create_persistent name=9p capacity=1GiB'),
    issues: [[2, 'bad_name']],
  },
  {
    name: 'rejects access= together with access_mode=',
    script: job('#BB create_persistent name=p capacity=1GiB access=striped access_mode=private'),
    issues: [[2, 'duplicate_key']],
  },
  {
    name: 'rejects a cache create_persistent',
    script: job('#BB create_persistent name=p capacity=1GiB type=cache'),
    issues: [[2, 'not_implemented']],
  },
  {
    name: 'rejects a destroy_persistent without name',
    script: job('#BB destroy_persistent hurry'),
    issues: [[2, 'missing_option']],
  },
  {
    name: 'rejects a directive line ending in a carriage return',
    script: '#!/bin/bash\r\n#DW jobdw capacity=1GiB\r\nsrun app\r\n',
    issues: [[2, 'carriage_return']],
  },
  {
    name: 'rejects a #DW line continued on a #BB line',
    script: job('#DW jobdw capacity=1GiB \\', '#BB destroy_persistent name=p'),
    issues: [[3, 'mixed_continuation']],
  },
  {
    name: 'rejects a continuation followed by a command',
    script: job('#DW jobdw capacity=1GiB \\'),
    issues: [[2, 'unterminated_continuation']],
  },
  {
    name: 'rejects a 100 KB path',
    script: job(JOBDW, STAGE_IN(`/${'a'.repeat(100 * 1024)}`, '$DW_JOB_STRIPED/a')),
    issues: [[3, 'bad_path']],
  },
  {
    name: 'rejects a 100 KB word on a line',
    script: job(`${JOBDW} ${'x'.repeat(100 * 1024)}`),
    issues: [[2, 'unexpected_argument']],
  },
  {
    name: 'reports every problem of every line together',
    script: job(
      '#DW jobdw capacity=3.5TB',
      '#DW persistentdw name=1bad',
      '#DW stage_in sorce=/a destination=$DW_JOB_STRIPED/a type=file',
      '#BB use_persistent name=x',
      '#DW stage_out source=$DW_PERSISTENT_STRIPED_nope/o destination=o type=file',
    ),
    issues: [
      [2, 'fractional_size'],
      [3, 'bad_name'],
      [4, 'missing_option'],
      [4, 'unknown_key'],
      [5, 'unsupported_bb_command'],
      [6, 'relative_path'],
    ],
  },
];

describe('parseJobScript', () => {
  it.each(valid)('$name', ({ script, directives }) => {
    const result = parseJobScript(script);
    expect(result.issues).toEqual([]);
    expect(result.directives).toEqual(directives);
  });

  it.each(invalid)('$name', ({ script, issues }) => {
    expect(issueCodes(parseJobScript(script))).toEqual(issues);
  });

  it('has at least 70 directive cases', () => {
    expect(valid.length + invalid.length).toBeGreaterThanOrEqual(70);
  });
});

describe('how much staging one job may ask for', () => {
  const lines = (count: number) =>
    Array.from({ length: count }, (_, i) =>
      STAGE_IN(`/home/user/inputs/file-${i}.dat`, `$DW_JOB_STRIPED/inputs/file-${i}.dat`),
    );

  it('accepts a thousand stage lines', () => {
    expect(parseJobScript(job(JOBDW, ...lines(1000))).issues).toEqual([]);
  });

  it('refuses, once, at the first stage line past what one etcd record can hold', () => {
    const result = parseJobScript(job(JOBDW, ...lines(20000)));
    expect(result.issues).toHaveLength(1);
    const issue = result.issues[0]!;
    // The request of stage line i is stored as this JSON (one byte more in the record).
    let bytes = 0;
    let first = 0;
    for (let i = 0; bytes <= 1024 * 1024; i++) {
      const request = {
        source: `/home/user/inputs/file-${i}.dat`,
        destination: `$DW_JOB_STRIPED/inputs/file-${i}.dat`,
        type: 'file',
      };
      bytes += JSON.stringify(request).length + 1;
      first = i;
    }
    // Script line 1 is the shebang and line 2 the jobdw: stage line i is script line i + 3.
    expect(issue).toMatchObject({
      code: 'too_much_staging',
      directive: '#DW stage_in',
      line: first + 3,
    });
    expect(issue.message).toBe(
      "the stage_in and stage_out lines up to here take more than 1 MiB, the most one job's " +
        'record can hold; stage a directory or a type=list file instead of many single files',
    );
  });
});
