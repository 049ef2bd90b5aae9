import { z } from 'zod';
import type { ChatMessage, ChatRequest, EmbeddingsRequest, JsonObject, ToolChoice, ToolDef } from './types.ts';

// Untrusted bodies are validated here, once, into the canonical types. Fields the gateway
// does not interpret are kept in `raw` and passed on to OpenAI-format providers unchanged.

const part = z.looseObject({ type: z.string() });
const toolCall = z.strictObject({
  id: z.string(), type: z.literal('function'),
  function: z.strictObject({ name: z.string(), arguments: z.string() }),
});
const message = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: z.union([z.string(), z.array(part), z.null()]).optional(),
  name: z.string().optional(),
  tool_calls: z.array(toolCall).optional(),
  tool_call_id: z.string().optional(),
});
const tool = z.looseObject({
  type: z.literal('function'),
  function: z.looseObject({ name: z.string().min(1), description: z.string().optional(), parameters: z.record(z.string(), z.unknown()).optional() }),
});
const toolChoice = z.union([z.enum(['none', 'auto', 'required']), z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string() }) })]);

const chatSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(message).min(1),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  tools: z.array(tool).nullish(),
  tool_choice: toolChoice.nullish(),
  n: z.literal(1).nullish(),
});

const embeddingsSchema = z.looseObject({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.string()).min(1).max(2048)]),
  encoding_format: z.enum(['float', 'base64']).optional(),
});

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };

function describe(err: z.ZodError): string {
  const issue = err.issues[0]!;
  const path = issue.path.length ? issue.path.join('.') : '(body)';
  return `${path}: ${issue.message}`;
}

export function parseJsonBody(text: string): Parsed<JsonObject> {
  let v: unknown;
  try { v = JSON.parse(text); } catch (err) { return { ok: false, problem: `the body is not valid JSON (${(err as Error).message})` }; }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { ok: false, problem: 'the body must be a JSON object' };
  return { ok: true, value: v as JsonObject };
}

export function parseChatRequest(body: JsonObject): Parsed<ChatRequest> {
  const r = chatSchema.safeParse(body);
  if (!r.success) return { ok: false, problem: describe(r.error) };
  const b = r.data;
  const messages = b.messages.map((m) => ({ ...m, content: m.content ?? null }) as ChatMessage);
  for (const [i, m] of messages.entries()) {
    if (m.role === 'tool' && !m.tool_call_id) return { ok: false, problem: `messages.${i}.tool_call_id: a tool message needs the id of the call it answers` };
  }
  return {
    ok: true,
    value: {
      model: b.model, messages, stream: b.stream === true, includeUsage: b.stream_options?.include_usage === true,
      maxTokens: b.max_completion_tokens ?? b.max_tokens ?? null, temperature: b.temperature ?? null, topP: b.top_p ?? null,
      stop: b.stop == null ? [] : typeof b.stop === 'string' ? [b.stop] : b.stop,
      tools: (b.tools ?? []) as ToolDef[], toolChoice: (b.tool_choice ?? null) as ToolChoice | null, raw: body,
    },
  };
}

export function parseEmbeddingsRequest(body: JsonObject): Parsed<EmbeddingsRequest> {
  const r = embeddingsSchema.safeParse(body);
  if (!r.success) return { ok: false, problem: describe(r.error) };
  return { ok: true, value: { model: r.data.model, input: typeof r.data.input === 'string' ? [r.data.input] : r.data.input, raw: body } };
}
