import type { Evidence } from '../pipeline/types.ts';
import { refusal, serveChat } from './chat.ts';
import type { AiExchange, AiOutcome, AiRoute } from './outcome.ts';
import type { AiProblem } from './respond.ts';
import type { ChatMessage, ChatRequest, JsonObject } from './types.ts';

// A prompt published as an API: the operator's template, model and parameters behind an
// ordinary route (same keys, subscriptions, policies, limits), called with a JSON object
// whose fields fill the template's {{variables}}. The answer is the model's text as
// {"output": ...}, or, with response: json, the model's JSON itself.

export async function servePrompt(route: AiRoute, x: AiExchange, body: JsonObject): Promise<AiOutcome> {
  const prompt = route.prompt!;
  const missing: string[] = [];
  const values = new Map<string, string>();
  for (const v of prompt.variables) {
    const value = body[v];
    if (typeof value === 'string') values.set(v, value);
    else if (typeof value === 'number' || typeof value === 'boolean') values.set(v, String(value));
    else missing.push(v);
  }
  if (missing.length > 0) {
    const p: AiProblem = { code: 'ai_request_invalid', detail: `This API needs the string field${missing.length > 1 ? 's' : ''} ${missing.join(', ')} in the JSON body.`, evidence: { prompt: prompt.id, missing } };
    return refusal(x, p, { id: 'ai-request', phase: 'pre-auth', outcome: 'deny', code: p.code, evidence: p.evidence, detail: p.detail, source: prompt.source, micros: 0 });
  }
  // One pass over the template: a value that itself contains {{x}} is never expanded again.
  const fill = (t: string) => t.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_m, name: string) => values.get(name) ?? '');
  const messages: ChatMessage[] = [];
  if (prompt.system !== null) messages.push({ role: 'system', content: fill(prompt.system) });
  messages.push({ role: 'user', content: fill(prompt.template) });
  const raw: JsonObject = { model: prompt.model, messages: messages as unknown as JsonObject[] };
  if (prompt.temperature !== null) raw.temperature = prompt.temperature;
  if (prompt.maxTokens !== null) raw.max_tokens = prompt.maxTokens;
  const req: ChatRequest = {
    model: prompt.model, messages, stream: false, includeUsage: false, maxTokens: prompt.maxTokens, temperature: prompt.temperature, topP: null,
    stop: [], tools: [], toolChoice: null, raw,
  };
  return serveChat(route, x, req, (c) => {
    const text = c.choices[0]?.message.content ?? '';
    if (prompt.response === 'text') return { ok: true, payload: { output: text, model: c.model, usage: c.usage ?? null } };
    const json = parseModelJson(text);
    if (json !== undefined) return { ok: true, payload: json };
    const evidence: Evidence = { prompt: prompt.id, answer_sample: text.slice(0, 200) };
    return { ok: false, problem: { code: 'ai_output_invalid', detail: `The model's answer for prompt "${prompt.id}" is not the JSON this API returns.`, evidence } };
  });
}

/** Models often wrap JSON in a ```json fence; that is accepted, prose is not. */
function parseModelJson(text: string): unknown {
  const fenced = /^\s*```(?:json)?\s*([\s\S]*?)\s*```\s*$/.exec(text);
  try { return JSON.parse(fenced ? fenced[1]! : text); } catch { return undefined; }
}
