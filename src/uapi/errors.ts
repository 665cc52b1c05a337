/**
 * UAPI error numbers. The numbers are errno.h values (Linux); on the wire a failed `set` carries the NEGATED number
 * (`errno=-22`), exactly as wireguard-go writes it and as wg(8) reads it (it sets errno = -value). A failed `get`
 * carries the positive number, which is how wg(8) parses a get reply (it only accepts digits there).
 */

/** Input/output error: reading or writing the socket failed, or a request was too large to frame. */
export const EIO = 5;
/** Invalid argument: a key's value is malformed or an unknown key was sent. */
export const EINVAL = 22;
/** Protocol error: a line is not `key=value`, or the request framing is broken. */
export const EPROTO = 71;
/** Address in use: the listen port (or fwmark) could not be applied to the socket. */
export const EADDRINUSE = 98;
/** Operation not supported: tunvpn's `reload=1` sent to a daemon that has no configuration file (tunvpnd). */
export const EOPNOTSUPP = 95;
/** "No anode": wireguard-go's code for an error it did not classify; ours for a non-UapiError thrown by the device. */
export const ENOANO = 55;

/** An error a DeviceControl or the parser raises; `errno` is the positive errno.h number. */
export class UapiError extends Error {
  readonly errno: number;

  constructor(errno: number, message: string) {
    super(message);
    this.name = 'UapiError';
    this.errno = errno;
  }
}

/** Any thrown value as a UapiError (unknown errors become ENOANO, as in wireguard-go). */
export function toUapiError(err: unknown): UapiError {
  if (err instanceof UapiError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new UapiError(ENOANO, `unexpected device error: ${message}`);
}
