import type { VaultReader } from './secret-source.ts';

/**
 * The vault a process serves or reads, for those that start before it does (the demo starts
 * the admin listener and the gateway's vault:// reader before or beside its vault). Until
 * attached, readers see no vault: the admin API then lists none rather than failing.
 */
export class VaultAttachment {
  #reader: VaultReader | null = null;

  attach(reader: VaultReader): void { this.#reader = reader; }

  get reader(): VaultReader | null { return this.#reader; }
}
