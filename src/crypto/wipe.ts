/** Overwrites secret material with zeros (best effort: JS may have copied it elsewhere). */
export function wipe(...bufs: (Uint8Array | undefined | null)[]): void {
  for (const b of bufs) b?.fill(0);
}
