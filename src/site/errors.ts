/** Errors for site files: every message reads `FILE:LINE: message`, like the tunnel config's. */
export class SiteConfigError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly detail: string,
  ) {
    super(`${file}:${line}: ${detail}`);
    this.name = 'SiteConfigError';
  }
}

/** Raised by `site up` when an existing object conflicts with the file in a way apply must not repair. */
export class SiteConflictError extends Error {
  constructor(readonly conflicts: string[]) {
    super(`site conflicts with the current state:\n  ${conflicts.join('\n  ')}`);
    this.name = 'SiteConflictError';
  }
}
