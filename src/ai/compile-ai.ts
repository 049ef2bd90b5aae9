import type { PathSegment } from '../config/load.ts';
import { upstreamSchema } from '../config/schema.ts';
import type { Directory } from '../credentials/directory.ts';
import { demoEchoProvider } from '../demo/demo-ai.ts';
import type { ConfigLocation } from '../pipeline/types.ts';
import { Upstream } from '../proxy/upstream.ts';
import type { AiConfig, ProviderConfig } from './ai-schema.ts';
import { createAnthropicAdapter } from './providers/anthropic.ts';
import { createGeminiAdapter } from './providers/gemini.ts';
import { createOpenAiAdapter } from './providers/openai.ts';
import type { ProviderAdapter } from './provider.ts';

/** Routes whose `upstream` is this name are served by the AI gateway. */
export const AI_UPSTREAM = 'ai';

export interface CompiledProvider {
  readonly name: string;
  readonly adapter: ProviderAdapter;
  readonly config: ProviderConfig;
}

export interface Price { readonly inputPerMillion: number; readonly outputPerMillion: number }

export interface CompiledModel {
  readonly name: string;
  readonly provider: CompiledProvider;
  readonly providerModel: string;
  readonly fallbacks: readonly string[];
  readonly maxOutputTokens: number;
  readonly kind: 'chat' | 'embeddings';
  readonly price: Price | null;
  readonly source: ConfigLocation;
}

export interface CompiledQuota {
  readonly id: string;
  readonly by: 'key' | 'consumer' | 'tenant';
  readonly period: 'day' | 'month';
  readonly tokens: number | null;
  /** In nano-USD, so that sums stay exact integers. */
  readonly spendNano: number | null;
  readonly models: ReadonlySet<string> | null;
  readonly source: ConfigLocation;
}

export interface CompiledPrompt {
  readonly id: string;
  readonly model: string;
  readonly system: string | null;
  readonly template: string;
  readonly variables: readonly string[];
  readonly temperature: number | null;
  readonly maxTokens: number | null;
  readonly response: 'text' | 'json';
  readonly source: ConfigLocation;
}

export interface ModelAccess {
  /** null: every model. */
  readonly models: ReadonlySet<string> | null;
  readonly source: ConfigLocation;
}

export interface CompiledAi {
  readonly models: ReadonlyMap<string, CompiledModel>;
  readonly providers: ReadonlyMap<string, CompiledProvider>;
  /** By consumer id, then by tenant id; an identity with neither entry may use no model. */
  readonly accessByConsumer: ReadonlyMap<string, ModelAccess>;
  readonly accessByTenant: ReadonlyMap<string, ModelAccess>;
  readonly quotas: readonly CompiledQuota[];
  readonly promptsByRoute: ReadonlyMap<string, CompiledPrompt>;
  readonly maxBodyBytes: number;
  readonly accessSource: ConfigLocation;
  /** Stands in for an upstream on AI routes: the route table and reloads expect one; it is never dialled. */
  readonly placeholderUpstream: Upstream;
}

export class AiConfigError extends Error {
  readonly path: readonly PathSegment[];
  constructor(path: readonly PathSegment[], message: string) { super(message); this.path = path; }
}

/** Multiplies USD-per-million by a token count into nano-USD without floating drift. */
export function costNano(price: Price | null, promptTokens: number, completionTokens: number): number {
  if (!price) return 0;
  return Math.round(promptTokens * price.inputPerMillion * 1000) + Math.round(completionTokens * price.outputPerMillion * 1000);
}

function adapterFor(name: string, p: ProviderConfig): ProviderAdapter {
  const needsUrl = p.type === 'azure-openai' || p.type === 'openai-compatible';
  if (needsUrl && !p.baseUrl) throw new AiConfigError(['ai', 'providers', name, 'baseUrl'], `a ${p.type} provider needs baseUrl`);
  if (p.type !== 'demo-echo' && p.type !== 'openai-compatible' && !p.apiKey) throw new AiConfigError(['ai', 'providers', name, 'apiKey'], `a ${p.type} provider needs apiKey: a reference such as env://NAME or vault://<vault>/<secret>`);
  switch (p.type) {
    case 'demo-echo': return demoEchoProvider;
    case 'anthropic': return createAnthropicAdapter(p);
    case 'gemini': return createGeminiAdapter(p);
    default: return createOpenAiAdapter(p.type, p);
  }
}

const templateVariables = (t: string): string[] => [...new Set([...t.matchAll(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g)].map((m) => m[1]!))];

export function compileAi(ai: AiConfig, routes: readonly { id: string; upstream: string }[], directory: Directory, locate: (p: readonly PathSegment[]) => ConfigLocation, knownSchemes: ReadonlySet<string>): CompiledAi {
  const providers = new Map<string, CompiledProvider>();
  for (const [name, p] of Object.entries(ai.providers)) {
    if (p.apiKey) {
      const scheme = p.apiKey.slice(0, p.apiKey.indexOf('://'));
      if (!knownSchemes.has(scheme)) throw new AiConfigError(['ai', 'providers', name, 'apiKey'], `${scheme}:// references need a ${scheme} secret source, and this gateway has none (available: ${[...knownSchemes].map((s) => `${s}://`).join(', ')})`);
    }
    providers.set(name, { name, adapter: adapterFor(name, p), config: p });
  }
  const models = new Map<string, CompiledModel>();
  for (const [name, m] of Object.entries(ai.models)) {
    const provider = providers.get(m.provider) ?? fail(['ai', 'models', name, 'provider'], `provider "${m.provider}" is not declared under ai.providers (declared: ${[...providers.keys()].join(', ') || 'none'})`);
    if (m.kind === 'embeddings' && provider.config.type === 'anthropic') fail(['ai', 'models', name, 'kind'], 'Anthropic offers no embeddings API');
    const price = ai.prices[name];
    models.set(name, {
      name, provider, providerModel: m.model ?? name, fallbacks: m.fallbacks, maxOutputTokens: m.maxOutputTokens, kind: m.kind,
      price: price ? { inputPerMillion: price.inputPerMillion, outputPerMillion: price.outputPerMillion } : null, source: locate(['ai', 'models', name]),
    });
  }
  for (const [name, m] of Object.entries(ai.models)) {
    m.fallbacks.forEach((f, i) => {
      const fb = models.get(f) ?? fail(['ai', 'models', name, 'fallbacks', i], `fallback model "${f}" is not declared under ai.models`);
      if (f === name) fail(['ai', 'models', name, 'fallbacks', i], 'a model cannot be its own fallback');
      if (fb.kind !== m.kind) fail(['ai', 'models', name, 'fallbacks', i], `fallback "${f}" is a ${fb.kind} model, "${name}" a ${m.kind} model`);
    });
  }
  for (const name of Object.keys(ai.prices)) if (!models.has(name)) fail(['ai', 'prices', name], `price for "${name}", which is not declared under ai.models`);

  const accessByConsumer = new Map<string, ModelAccess>();
  const accessByTenant = new Map<string, ModelAccess>();
  ai.access.forEach((a, i) => {
    const at = ['ai', 'access', i];
    if ((a.consumer === undefined) === (a.tenant === undefined)) fail(at, 'an access entry names exactly one of consumer or tenant');
    for (const [j, mname] of a.models.entries()) if (mname !== '*' && !models.has(mname)) fail([...at, 'models', j], `model "${mname}" is not declared under ai.models`);
    const entry: ModelAccess = { models: a.models.includes('*') ? null : new Set(a.models), source: locate(at) };
    if (a.consumer !== undefined) {
      if (!directory.consumers.has(a.consumer)) fail([...at, 'consumer'], `consumer "${a.consumer}" is not declared under consumers`);
      if (accessByConsumer.has(a.consumer)) fail([...at, 'consumer'], `consumer "${a.consumer}" has two access entries`);
      accessByConsumer.set(a.consumer, entry);
    } else {
      if (accessByTenant.has(a.tenant!)) fail([...at, 'tenant'], `tenant "${a.tenant}" has two access entries`);
      accessByTenant.set(a.tenant!, entry);
    }
  });

  const ids = new Set<string>();
  const quotas: CompiledQuota[] = ai.quotas.map((q, i) => {
    const at = ['ai', 'quotas', i];
    if (ids.has(q.id)) fail([...at, 'id'], `quota id ${q.id} is used twice`);
    ids.add(q.id);
    if (q.tokens === undefined && q.spendUsd === undefined) fail(at, 'a quota sets tokens, spendUsd or both');
    for (const [j, mname] of (q.models ?? []).entries()) if (!models.has(mname)) fail([...at, 'models', j], `model "${mname}" is not declared under ai.models`);
    return {
      id: q.id, by: q.by, period: q.period, tokens: q.tokens ?? null, spendNano: q.spendUsd === undefined ? null : Math.round(q.spendUsd * 1e9),
      models: q.models ? new Set(q.models) : null, source: locate(at),
    };
  });

  const aiRoutes = new Set(routes.filter((r) => r.upstream === AI_UPSTREAM).map((r) => r.id));
  const promptsByRoute = new Map<string, CompiledPrompt>();
  for (const [id, p] of Object.entries(ai.prompts)) {
    const at = ['ai', 'prompts', id];
    if (!aiRoutes.has(p.route)) fail([...at, 'route'], `route "${p.route}" is not a route with upstream: ${AI_UPSTREAM}`);
    if (promptsByRoute.has(p.route)) fail([...at, 'route'], `route "${p.route}" already serves another prompt`);
    const model = models.get(p.model) ?? fail([...at, 'model'], `model "${p.model}" is not declared under ai.models`);
    if (model.kind !== 'chat') fail([...at, 'model'], `model "${p.model}" is an embeddings model`);
    promptsByRoute.set(p.route, {
      id, model: p.model, system: p.system ?? null, template: p.template, variables: templateVariables(`${p.system ?? ''}\n${p.template}`),
      temperature: p.temperature ?? null, maxTokens: p.maxTokens ?? null, response: p.response, source: locate(at),
    });
  }

  return {
    models, providers, accessByConsumer, accessByTenant, quotas, promptsByRoute, maxBodyBytes: ai.maxBodyBytes, accessSource: locate(['ai', 'access']),
    placeholderUpstream: new Upstream(AI_UPSTREAM, upstreamSchema.parse({ targets: [{ url: 'http://127.0.0.1:9' }] })),
  };
}

function fail(path: readonly PathSegment[], message: string): never {
  throw new AiConfigError(path, message);
}
