import { z } from 'zod';
import { apiKeyFields, isoTime } from '../credentials/key-fields.ts';

// The tenancy model: tenants, their consumers (apps) and keys, the APIs they publish, who is
// subscribed to what, who may do what (access policies) and who owns which resource. These
// schemas validate the YAML seed and every admin payload, so both speak the same language.

/** An entity id: what the admin API, the CLI and the state store accept. */
export const ident = z.string().regex(/^[A-Za-z0-9_.:-]{1,80}$/, 'letters, digits, _ . : - (at most 80)');
/** A UTC time of day; 24:00 only makes sense as a window's end but is harmless as a start. */
const hhmm = z.string().regex(/^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'a UTC time of day HH:MM from 00:00 to 24:00');
const method = z.string().regex(/^[A-Z]+$/, 'an upper-case HTTP method such as GET');

export const tenantEntity = z.strictObject({
  id: ident,
  name: z.string().max(200).optional(),
  status: z.enum(['active', 'suspended']).default('active'),
});

export const consumerEntity = z.strictObject({
  id: ident,
  tenant: ident,
  name: z.string().max(200).optional(),
  status: z.enum(['active', 'suspended']).default('active'),
  suspendedReason: z.string().max(500).optional(),
  /** JWT subjects acting as this consumer: `sub`, `iss#sub`, or `iss#*` for every subject of an issuer. */
  jwtSubjects: z.array(z.string().min(1).max(300)).default([]),
});

export const keyEntity = z.strictObject({
  id: ident,
  consumer: ident,
  ...apiKeyFields,
});

export const apiStatus = z.enum(['draft', 'published', 'deprecated', 'retired']);

export const apiEntity = z.strictObject({
  id: ident,
  tenant: ident,
  name: z.string().max(200).optional(),
  version: z.string().min(1).max(40).default('1'),
  status: apiStatus.default('published'),
  /** Route ids (from the gateway config) that make up this API. */
  routes: z.array(ident).default([]),
  /** `tenant`: only consumers of the owning tenant may subscribe; `public`: any tenant may. */
  visibility: z.enum(['tenant', 'public']).default('tenant'),
  /** When true every caller also needs an allowing access policy. */
  policies: z.enum(['enforce', 'off']).default('enforce'),
  /** The API that replaces this one (named in 410 answers and in the Link header). */
  successor: ident.optional(),
  /** A URL or path of the successor's documentation or endpoint, for the Link header of a deprecated API. */
  successorLink: z.string().min(1).max(500).optional(),
  /** When it was deprecated (Deprecation header, RFC 9745); set by the admin API when status becomes deprecated. */
  deprecatedAt: isoTime.optional(),
  /** When it will be retired (Sunset header, RFC 8594). */
  sunset: isoTime.optional(),
  /** Owner-only rules: on these routes and methods, only the resource's owner may act. */
  ownership: z.array(z.strictObject({
    id: ident,
    routes: z.array(ident).min(1),
    methods: z.array(method).min(1),
    /** The path parameter holding the resource id, e.g. `id` in /orders/{id}. */
    param: z.string().min(1),
    /** The attribute source owners are looked up in (see resource owners). */
    source: ident,
  })).default([]),
});

export const subscriptionEntity = z.strictObject({
  id: ident,
  consumer: ident,
  api: ident,
  status: z.enum(['requested', 'approved', 'rejected', 'revoked']).default('requested'),
  note: z.string().max(500).optional(),
});

export const conditionSchema = z.union([
  z.strictObject({ header: z.string().min(1).transform((h) => h.toLowerCase()), equals: z.array(z.string()).min(1) }),
  z.strictObject({ scope: z.string().min(1) }),
  /** A JWT claim (string, number or boolean, or an array holding one of them) equal to one of the values. */
  z.strictObject({ claim: z.string().min(1), equals: z.array(z.string()).min(1) }),
  z.strictObject({ timeWindow: z.strictObject({ from: hhmm, to: hhmm, days: z.array(z.number().int().min(0).max(6)).optional() }) }),
]);

export const policyEntity = z.strictObject({
  id: ident,
  tenant: ident,
  api: ident,
  description: z.string().max(500).optional(),
  effect: z.enum(['allow', 'deny']).default('allow'),
  /** Who the policy is about; any one listed matches. `*` in consumers means every consumer. */
  subjects: z.strictObject({
    consumers: z.array(z.string().min(1)).default([]),
    roles: z.array(z.string().min(1)).default([]),
  }).refine((s) => s.consumers.length + s.roles.length > 0, 'name at least one consumer or role'),
  /** Route ids of the API; empty means every route. */
  routes: z.array(ident).default([]),
  /** Empty means every method. */
  methods: z.array(method).default([]),
  /** Every condition must hold for the policy to apply. */
  conditions: z.array(conditionSchema).default([]),
});

export const ownerEntity = z.strictObject({
  /** `source:resourceId`, e.g. `orders:1001`. */
  id: z.string().min(3).max(200).regex(/^[A-Za-z0-9_.-]+:[^\s]+$/, 'source:resourceId'),
  tenant: ident,
  /** The subject that owns it: a consumer id for API keys, the token subject for JWTs. */
  owner: z.string().min(1).max(300),
});

export type Tenant = z.infer<typeof tenantEntity>;
export type Consumer = z.infer<typeof consumerEntity>;
export type Key = z.infer<typeof keyEntity>;
export type Api = z.infer<typeof apiEntity>;
export type Subscription = z.infer<typeof subscriptionEntity>;
export type Policy = z.infer<typeof policyEntity>;
export type Condition = z.infer<typeof conditionSchema>;
export type ResourceOwner = z.infer<typeof ownerEntity>;

export const entitySchemas = {
  tenant: tenantEntity,
  consumer: consumerEntity,
  key: keyEntity,
  api: apiEntity,
  subscription: subscriptionEntity,
  policy: policyEntity,
  owner: ownerEntity,
} as const;

export type EntityKind = keyof typeof entitySchemas;
export const entityKinds = Object.keys(entitySchemas) as EntityKind[];

export interface EntityTypes {
  tenant: Tenant; consumer: Consumer; key: Key; api: Api; subscription: Subscription; policy: Policy; owner: ResourceOwner;
}

/** An entity as stored: its data plus the state version that last changed it. */
export interface Stored<K extends EntityKind = EntityKind> {
  readonly kind: K;
  readonly id: string;
  readonly tenant: string;
  readonly version: number;
  readonly data: EntityTypes[K];
}

/** Sections of the YAML config that seed the state store. */
export const tenancySeedSections = {
  apis: z.array(apiEntity).default([]),
  policies: z.array(policyEntity).default([]),
  subscriptions: z.array(subscriptionEntity).default([]),
  resourceOwners: z.array(ownerEntity).default([]),
};
