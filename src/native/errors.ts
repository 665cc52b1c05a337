/** The error every addon call throws for a failed system call (native/src/errors.cc). */

/** A failed system call: "EPERM: ioctl(TUNSETIFF): Operation not permitted". */
export interface NativeError extends Error {
  /** The errno name, e.g. 'EPERM'. */
  code: string;
  /** The (positive) errno number. */
  errno: number;
  /** What was attempted, e.g. 'ioctl(TUNSETIFF)'. */
  syscall: string;
}

/** Whether `e` is a NativeError (an Error with a string `code` and a numeric `errno`). */
export function isNativeError(e: unknown): e is NativeError {
  return e instanceof Error && typeof (e as NativeError).code === 'string' && typeof (e as NativeError).errno === 'number';
}
