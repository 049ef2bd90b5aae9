import { z } from 'zod';

// The `ai` section of the config: model providers, the models apps may name, prices,
// allow-lists, quotas and prompts published as APIs. Validated at load; compiled once by
// compile-ai.ts; nothing here is read per request.

const name = z.string().regex(/^[A-Za-z0-9_.:-]{1,80}$/, 'letters, digits, _ . : - (at most 80)');
const httpUrl = z.url({ protocol: /^https?$/ });

/**
 * A reference to a secret, never the secret itself: `env://NAME` or `vault://<vault>/<secret>`.
 * Provider keys never appear in config files or logs, only these references.
 */
export const secretRef = z.string().regex(/^(env:\/\/[A-Za-z_][A-Za-z0-9_]*|vault:\/\/[A-Za-z0-9-]{1,64}\/[A-Za-z0-9-]{1,127})$/,
  'a secret reference: env://NAME or vault://<vault>/<secret> (never the key itself)');

export const providerSchema = z.strictObject({
  type: z.enum(['openai', 'azure-openai', 'anthropic', 'gemini', 'openai-compatible', 'demo-echo']),
  /**
   * openai: https://api.openai.com/v1; openai-compatible: the server's /v1 base;
   * azure-openai: https://<resource>.openai.azure.com; anthropic: https://api.anthropic.com;
   * gemini: https://generativelanguage.googleapis.com. Not used by demo-echo.
   */
  baseUrl: httpUrl.optional(),
  apiKey: secretRef.optional(),
  /** azure-openai only. */
  apiVersion: z.string().default('2024-10-21'),
  /** anthropic only: the anthropic-version header. */
  anthropicVersion: z.string().default('2023-06-01'),
  timeoutMs: z.number().int().min(100).max(600_000).default(120_000),
  /** How long a resolved key is reused before the secret source is asked again. */
  secretTtlSeconds: z.number().int().min(0).max(86_400).default(300),
});

export const modelSchema = z.strictObject({
  provider: name,
  /** The provider's own model name (for azure-openai, the deployment name). Default: the public name. */
  model: z.string().min(1).optional(),
  /** Other public model names tried, in order, when this one's provider answers 429 or 5xx. */
  fallbacks: z.array(z.string().min(1)).default([]),
  /** Output cap used when a request sets no max_tokens (also bounds quota reservations). */
  maxOutputTokens: z.number().int().positive().default(4096),
  kind: z.enum(['chat', 'embeddings']).default('chat'),
});

/** USD per one million tokens. */
export const priceSchema = z.strictObject({
  inputPerMillion: z.number().min(0),
  outputPerMillion: z.number().min(0).default(0),
});

export const modelAccessSchema = z.strictObject({
  /** An app is a consumer; a tenant entry applies to all of its consumers. */
  consumer: z.string().optional(),
  tenant: z.string().optional(),
  /** Public model names, or "*" for every model. */
  models: z.array(z.string().min(1)).min(1),
});

export const aiQuotaSchema = z.strictObject({
  id: name,
  by: z.enum(['key', 'consumer', 'tenant']).default('consumer'),
  period: z.enum(['day', 'month']),
  tokens: z.number().int().positive().optional(),
  spendUsd: z.number().positive().optional(),
  /** Models this quota counts; default all. */
  models: z.array(z.string().min(1)).optional(),
});

export const promptSchema = z.strictObject({
  /** The id of the route (upstream: ai) that serves this prompt. */
  route: z.string().min(1),
  model: z.string().min(1),
  system: z.string().optional(),
  /** The user message; {{name}} is replaced by the request body's string field `name`. */
  template: z.string().min(1),
  temperature: z.number().min(0).max(2).optional(),
  maxTokens: z.number().int().positive().optional(),
  /** json: the model's answer is parsed as JSON and returned as the body. */
  response: z.enum(['text', 'json']).default('text'),
});

export const aiSchema = z.strictObject({
  providers: z.record(name, providerSchema).default({}),
  models: z.record(z.string().min(1), modelSchema).default({}),
  prices: z.record(z.string().min(1), priceSchema).default({}),
  access: z.array(modelAccessSchema).default([]),
  quotas: z.array(aiQuotaSchema).default([]),
  prompts: z.record(name, promptSchema).default({}),
  /** Largest request body the AI endpoints read. */
  maxBodyBytes: z.number().int().min(1024).default(4 * 1024 * 1024),
});

export type AiConfig = z.infer<typeof aiSchema>;
export type ProviderConfig = z.infer<typeof providerSchema>;
export type ModelConfig = z.infer<typeof modelSchema>;
export type AiQuotaConfig = z.infer<typeof aiQuotaSchema>;
export type PromptConfig = z.infer<typeof promptSchema>;
