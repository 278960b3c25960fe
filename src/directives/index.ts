/** Directive parsing: pure functions from job-script text to typed directives and issues. */
export {
  formatIssues,
  type CheckResult,
  type DirectiveIssue,
  type FormatIssuesOptions,
  type IssueCode,
} from './issues';
export {
  parseSize,
  roundToGranularity,
  ACCEPTED_SIZE_UNITS,
  type ParsedSize,
  type ParseSizeOptions,
  type SizeIssueCode,
  type SizeResult,
} from './size';
export {
  parseCapacityArg,
  parsePersistentCapacityArg,
  type CapacityArg,
  type CapacityArgResult,
  type PersistentCapacityArg,
} from './capacity-arg';
export { checkPersistentName, checkPoolName, MAX_PERSISTENT_NAME_LENGTH } from './names';
export { parseAccessMode, parseBufferType, parseStageType } from './option-values';
export {
  classifyStagePath,
  MAX_STAGE_PATH_BYTES,
  type StagePathCode,
  type StagePathSide,
} from './stage-paths';
export {
  extractDirectiveLines,
  type DirectiveLine,
  type DirectivePrefix,
  type ExtractedDirectives,
} from './job-script';
export { tokeniseDirective, type DirectiveTokens } from './tokenise';
export { parseDirectiveLine, type ParsedLine } from './parse';
export {
  validateDirectives,
  type DirectiveCheck,
  type PoolInfo,
  type PoolOptions,
} from './validate';
export {
  parseJobScript,
  type ParseJobScriptOptions,
  type ParsedJobScript,
} from './parse-job-script';
export type {
  AccessMode,
  BufferRef,
  BufferType,
  CreatePersistentDirective,
  DestroyPersistentDirective,
  Directive,
  JobBufferDirective,
  PersistentUseDirective,
  StageDirective,
  StageType,
} from './types';
