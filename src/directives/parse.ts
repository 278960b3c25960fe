/**
 * Turn one logical directive line into a typed directive (contract §5.2). Checks that need
 * only this line live here; checks across lines (one jobdw, buffer references, pools) are in
 * validate.ts.
 */
import { describeOption, echo, type DirectiveIssue } from './issues';
import type { DirectiveLine } from './job-script';
import { LineChecker, type BufferReference } from './line-checker';
import { checkPersistentName, checkPoolName } from './names';
import { parseAccessMode, parseBufferType, parseStageType } from './option-values';
import { classifyStagePath, STAGE_BUFFER_HINT } from './stage-paths';
import { tokeniseDirective } from './tokenise';
import type { Directive, StageDirective } from './types';

/** The result of parsing one line: the directive if the line is valid, and its problems. */
export interface ParsedLine {
  line: number;
  prefix: DirectiveLine['prefix'];
  /** `#DW jobdw`, for messages. */
  label: string;
  /** The command word (`jobdw`), even when the line is invalid. */
  command: string;
  directive?: Directive;
  /** The buffer a stage line refers to, even when the line is invalid, so all checks run. */
  bufferReference?: BufferReference;
  issues: DirectiveIssue[];
}

// Maps, not object literals: a command such as "constructor" or "toString" must not find
// Object.prototype's members.
const DW_KEYS = new Map<string, readonly string[]>([
  ['jobdw', ['capacity', 'access_mode', 'type', 'pool']],
  ['persistentdw', ['name']],
  ['stage_in', ['source', 'destination', 'type']],
  ['stage_out', ['source', 'destination', 'type']],
]);
const BB_KEYS = new Map<string, readonly string[]>([
  ['create_persistent', ['name', 'capacity', 'access', 'access_mode', 'type', 'pool']],
  ['destroy_persistent', ['name']],
]);

/** Parse one logical `#DW`/`#BB` line. */
export function parseDirectiveLine(directive: DirectiveLine): ParsedLine {
  const { tokens, issues: tokenIssues } = tokeniseDirective(directive);
  const checker = new LineChecker(tokens);
  const parsed = directive.prefix === 'DW' ? parseDw(checker) : parseBb(checker);
  const issues = [...tokenIssues, ...checker.issues];
  return {
    line: tokens.line,
    prefix: tokens.prefix,
    label: tokens.label,
    command: tokens.command,
    ...(parsed !== undefined && issues.length === 0 ? { directive: parsed } : {}),
    ...(checker.bufferReference ? { bufferReference: checker.bufferReference } : {}),
    issues,
  };
}

function parseDw(checker: LineChecker): Directive | undefined {
  const { command, line } = checker.tokens;
  if (command === 'create_persistent' || command === 'destroy_persistent') {
    checker.report('wrong_prefix', `write #BB ${command}, not #DW ${command}`);
    return undefined;
  }
  if (command === 'swap') {
    checker.report(
      'not_implemented',
      'swap is not supported; request space with #DW jobdw capacity=<size>',
    );
    return undefined;
  }
  const keys = DW_KEYS.get(command);
  if (keys === undefined) {
    const what = command === '' ? 'no command after #DW' : `unknown command "${echo(command)}"`;
    checker.report(
      'unknown_command',
      `${what}; expected jobdw, persistentdw, stage_in or stage_out`,
    );
    return undefined;
  }
  checker.checkKeys(keys);
  if (command === 'jobdw') {
    const capacityBytes = checker.readBytes('capacity');
    const accessMode = checker.read('access_mode', parseAccessMode, false) ?? 'striped';
    const type = checker.read('type', parseBufferType, false) ?? 'scratch';
    const pool = checker.read('pool', checkPoolName, false);
    if (capacityBytes === undefined || checker.failed) return undefined;
    return { kind: 'jobdw', line, capacityBytes, accessMode, type, ...(pool ? { pool } : {}) };
  }
  if (command === 'persistentdw') {
    const name = checker.read('name', checkPersistentName, true);
    return name === undefined ? undefined : { kind: 'persistentdw', line, name };
  }
  return parseStage(checker, command === 'stage_in' ? 'stage_in' : 'stage_out');
}

function parseStage(
  checker: LineChecker,
  kind: StageDirective['kind'],
): StageDirective | undefined {
  const source = checker.tokens.options.get('source');
  const destination = checker.tokens.options.get('destination');
  const sourceSide = checker.read('source', classifyStagePath, true);
  const destinationSide = checker.read('destination', classifyStagePath, true);
  const type = checker.read('type', parseStageType, true);
  // stage_in copies into the buffer; stage_out copies out of it.
  const options = checker.tokens.options;
  const bufferKey = kind === 'stage_in' ? 'destination' : 'source';
  const bufferSide = kind === 'stage_in' ? destinationSide : sourceSide;
  const fsKey = kind === 'stage_in' ? 'source' : 'destination';
  const fsSide = kind === 'stage_in' ? sourceSide : destinationSide;
  if (bufferSide?.side === 'buffer') {
    const option = describeOption(bufferKey, options.get(bufferKey) ?? '');
    checker.bufferReference = { buffer: bufferSide.buffer, option };
  }
  if (bufferSide !== undefined && bufferSide.side !== 'buffer') {
    checker.report(
      'wrong_side',
      `${describeOption(bufferKey, options.get(bufferKey) ?? '')}: the ${kind} ${bufferKey} must be in the burst buffer, starting with ${STAGE_BUFFER_HINT}`,
    );
  }
  if (fsSide !== undefined && fsSide.side !== 'filesystem') {
    checker.report(
      'wrong_side',
      `${describeOption(fsKey, options.get(fsKey) ?? '')}: the ${kind} ${fsKey} must be an absolute path outside the burst buffer`,
    );
  }
  if (
    checker.failed ||
    source === undefined ||
    destination === undefined ||
    type === undefined ||
    bufferSide?.side !== 'buffer'
  ) {
    return undefined;
  }
  return { kind, line: checker.tokens.line, source, destination, type, buffer: bufferSide.buffer };
}

function parseBb(checker: LineChecker): Directive | undefined {
  const { command, line } = checker.tokens;
  const keys = BB_KEYS.get(command);
  if (keys === undefined) {
    const what = command.startsWith('_LUA')
      ? '#BB_LUA directives are for the burst_buffer/lua plugin and are not supported'
      : command === ''
        ? 'no command after #BB'
        : `#BB ${echo(command)} is not supported`;
    checker.report(
      'unsupported_bb_command',
      `${what}; use #DW jobdw for a job buffer or #DW persistentdw name=<name> for a persistent one`,
    );
    return undefined;
  }
  if (command === 'destroy_persistent') {
    checker.checkKeys(keys, ['hurry']);
    const name = checker.read('name', checkPersistentName, true);
    if (name === undefined || checker.failed) return undefined;
    return {
      kind: 'destroy_persistent',
      line,
      name,
      hurry: checker.tokens.bareWords.includes('hurry'),
    };
  }
  checker.checkKeys(keys);
  if (checker.tokens.options.has('access') && checker.tokens.options.has('access_mode')) {
    checker.report('duplicate_key', 'give access= or access_mode=, not both');
  }
  const name = checker.read('name', checkPersistentName, true);
  const capacityBytes = checker.readBytes('capacity');
  const accessKey = checker.tokens.options.has('access') ? 'access' : 'access_mode';
  const accessMode = checker.read(accessKey, parseAccessMode, false);
  const type = checker.read('type', parseBufferType, false);
  const pool = checker.read('pool', checkPoolName, false);
  if (name === undefined || capacityBytes === undefined || checker.failed) return undefined;
  return {
    kind: 'create_persistent',
    line,
    name,
    capacityBytes,
    ...(accessMode ? { accessMode } : {}),
    ...(type ? { type } : {}),
    ...(pool ? { pool } : {}),
  };
}
