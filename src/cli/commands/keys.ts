/** `tunvpn genkey`, `pubkey`, `genpsk`: the same output, byte for byte, as `wg genkey | wg pubkey` and `wg genpsk`. */
import type { Command } from 'commander';
import { systemRng } from '../../crypto/random.js';
import { decodeKey, encodeKey, generatePresharedKey, generatePrivateKey, KeyFormatError } from '../../crypto/keys.js';
import { publicKeyOf } from '../../crypto/x25519.js';
import type { CliContext } from '../context.js';

/** Print a fresh key and wipe our copy of it. */
function printSecret(ctx: CliContext, key: Uint8Array): void {
  ctx.io.out(`${encodeKey(key)}\n`);
  key.fill(0);
}

export function registerGenkey(program: Command, ctx: CliContext): void {
  program
    .command('genkey')
    .description('print a new random private key (base64)')
    .action(() => printSecret(ctx, generatePrivateKey(systemRng)));
}

export function registerGenpsk(program: Command, ctx: CliContext): void {
  program
    .command('genpsk')
    .description('print a new random preshared key (base64)')
    .action(() => printSecret(ctx, generatePresharedKey(systemRng)));
}

export function registerPubkey(program: Command, ctx: CliContext): void {
  program
    .command('pubkey')
    .description('read a private key (base64) on stdin and print its public key')
    .action(async () => {
      // Like `wg pubkey`: trailing whitespace (the newline from genkey) is fine, anything else is not.
      const text = (await ctx.io.readStdin()).trimEnd();
      let privateKey: Uint8Array;
      try {
        privateKey = decodeKey(text);
      } catch (e) {
        if (e instanceof KeyFormatError) ctx.fail(`tunvpn pubkey: stdin is not a valid private key: ${e.reason}`);
        throw e;
      }
      ctx.io.out(`${encodeKey(publicKeyOf(privateKey))}\n`);
      privateKey.fill(0);
    });
}
