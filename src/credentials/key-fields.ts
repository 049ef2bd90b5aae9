import { z } from 'zod';

// The fields of an API key, shared by the config file's consumers[].keys[] and the tenancy
// state's key entity: one definition, so a key means the same thing wherever it is declared.
// Only the id rules differ (the config's ids predate the state's wider identifier alphabet).

export const isoTime = z.union([z.iso.datetime({ offset: true }), z.iso.date()]);

export const apiKeyFields = {
  /** sha256 of the whole key, hex: the plain key is shown once at creation and never stored. */
  hash: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'sha256:<64 hex digits> (see `pinpoint key hash`)'),
  /** The key's public beginning, for recognizing a key in logs without storing it. */
  prefix: z.string().max(16).optional(),
  scopes: z.array(z.string().min(1)).default([]),
  roles: z.array(z.string().min(1)).default([]),
  notBefore: isoTime.optional(),
  expiresAt: isoTime.optional(),
  revokedAt: isoTime.optional(),
  revokedReason: z.string().max(500).optional(),
  /** Set on the old key of a rotation: explain then names the key that replaces it. */
  replacedBy: z.string().optional(),
};
