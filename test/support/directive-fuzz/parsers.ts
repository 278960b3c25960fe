/** The parsers the fuzzing properties check, gathered so that a test can swap one. */
import {
  formatIssues,
  parseCapacityArg,
  parseJobScript,
  parsePersistentCapacityArg,
  parseSize,
  roundToGranularity,
} from '../../../src/directives';

/** The parsers under test; the unit test swaps one for a broken copy to see a property fail. */
export interface DirectiveParsers {
  parseJobScript: typeof parseJobScript;
  parseSize: typeof parseSize;
  parseCapacityArg: typeof parseCapacityArg;
  parsePersistentCapacityArg: typeof parsePersistentCapacityArg;
  formatIssues: typeof formatIssues;
  roundToGranularity: typeof roundToGranularity;
}

/** The parsers of src/directives. */
export const REAL_PARSERS: DirectiveParsers = {
  parseJobScript,
  parseSize,
  parseCapacityArg,
  parsePersistentCapacityArg,
  formatIssues,
  roundToGranularity,
};
