import { InputError } from '../../src/input-error.ts';

/** The InputError `thunk` throws; fails the test when it throws nothing or something else. */
export function inputErrorOf(thunk: () => unknown): InputError {
  try {
    thunk();
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error('expected an InputError, and nothing was thrown');
}
