/**
 * The error a promise rejects with or a function throws, for assertions on its class and its
 * words: unlike `rejects.toThrow(error)`, these ignore `cause`, and they fail the test when
 * nothing goes wrong.
 */

/** The error `promise` rejects with (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

/** The error `run` throws (fails the test if it returns). */
export function thrown(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}
