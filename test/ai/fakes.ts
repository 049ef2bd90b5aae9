import type { IncomingMessage, ServerResponse } from 'node:http';
import { startUpstream, type TestUpstream } from '../support/harness.ts';

// Fake model providers on loopback. Each speaks its provider's documented wire format
// (OpenAI Chat Completions, Anthropic Messages, Gemini generateContent), checks the parts of
// a request that provider would reject, and answers a scripted turn in its own shapes,
// streamed the way that provider streams. Tests assert on what they received.

export interface ScriptedTurn {
  readonly text?: string;
  readonly toolCalls?: readonly { id: string; name: string; args: Record<string, unknown> }[];
  readonly stop?: 'stop' | 'length' | 'tool';
  readonly usage: { input: number; output: number };
  /** Milliseconds between streamed pieces (to hold streams open concurrently). */
  readonly delayMs?: number;
  /** Break the stream with the provider's error event after the text. */
  readonly streamError?: { type: string; message: string };
}
export interface ScriptedError { readonly status: number; readonly type: string; readonly message: string; readonly retryAfter?: string }
export type Script = ScriptedTurn | { readonly error: ScriptedError };

export interface Received { readonly method: string; readonly url: string; readonly headers: IncomingMessage['headers']; readonly body: Record<string, unknown> }

export interface FakeProvider {
  readonly url: string;
  readonly received: Received[];
  /** What to answer next (the last script repeats). */
  script(...s: Script[]): void;
  close(): Promise<void>;
}

type Render = (req: Received, turn: ScriptedTurn, res: ServerResponse) => void;
type RenderError = (e: ScriptedError, res: ServerResponse) => void;
type Validate = (req: Received) => { status: number; body: unknown } | null;

async function startFake(render: Render, renderError: RenderError, validate: Validate): Promise<FakeProvider> {
  let queue: Script[] = [{ text: 'ok', usage: { input: 1, output: 1 } }];
  const received: Received[] = [];
  let up: TestUpstream | null = null;
  up = await startUpstream((req, res, raw) => {
    let body: Record<string, unknown> = {};
    try { body = JSON.parse(raw || '{}') as Record<string, unknown>; } catch { /* validated below */ }
    const r: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
    received.push(r);
    const invalid = validate(r);
    if (invalid) { res.writeHead(invalid.status, { 'content-type': 'application/json' }); res.end(JSON.stringify(invalid.body)); return; }
    const s = queue.length > 1 ? queue.shift()! : queue[0]!;
    if ('error' in s) renderError(s.error, res);
    else render(r, s, res);
  });
  const u = up;
  return { url: u.url, received, script: (...s) => { queue = s; }, close: () => u.close() };
}

const sse = (res: ServerResponse) => res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
const words = (t: string) => t.match(/\s*\S+/g) ?? [];
const pause = (ms = 0) => new Promise((r) => (ms > 0 ? setTimeout(r, ms) : setImmediate(r)));

// ---------------------------------------------------------------- OpenAI / Azure / compatible

export function startFakeOpenAi(options: { key: string | null; header?: 'authorization' | 'api-key' }): Promise<FakeProvider> {
  const header = options.header ?? 'authorization';
  const finish = (t: ScriptedTurn) => (t.stop === 'tool' ? 'tool_calls' : t.stop === 'length' ? 'length' : 'stop');
  return startFake(async (req, t, res) => {
    const model = String(req.body.model ?? 'deployment');
    const usage = { prompt_tokens: t.usage.input, completion_tokens: t.usage.output, total_tokens: t.usage.input + t.usage.output };
    const calls = (t.toolCalls ?? []).map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.args) } }));
    if (req.url.endsWith('/embeddings') || req.url.includes('/embeddings?')) {
      const input = Array.isArray(req.body.input) ? req.body.input : [req.body.input];
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ object: 'list', model, data: input.map((_x, index) => ({ object: 'embedding', index, embedding: [index, 0.5, -0.25] })), usage: { prompt_tokens: t.usage.input, total_tokens: t.usage.input } }));
      return;
    }
    const base = { id: 'chatcmpl-fake123', created: 1_700_000_000, model, system_fingerprint: 'fp_fake' };
    if (req.body.stream !== true) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ...base, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: t.text ?? null, refusal: null, ...(calls.length ? { tool_calls: calls } : {}) }, logprobs: null, finish_reason: finish(t) }], usage }));
      return;
    }
    const includeUsage = (req.body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    const chunk = (delta: object, finish_reason: string | null) => `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, logprobs: null, finish_reason }], ...(includeUsage ? { usage: null } : {}) })}\n\n`;
    sse(res);
    res.write(chunk({ role: 'assistant', content: '', refusal: null }, null));
    for (const w of words(t.text ?? '')) {
      // delayMs < 0: write as fast as the socket takes it (large network reads at the gateway).
      if (!res.write(chunk({ content: w }, null)) && (t.delayMs ?? 0) < 0) await new Promise((r) => res.once('drain', r));
      if ((t.delayMs ?? 0) >= 0) await pause(t.delayMs);
    }
    calls.forEach((c, index) => {
      const args = c.function.arguments;
      const half = Math.floor(args.length / 2);
      res.write(chunk({ tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.function.name, arguments: '' } }] }, null));
      res.write(chunk({ tool_calls: [{ index, function: { arguments: args.slice(0, half) } }] }, null));
      res.write(chunk({ tool_calls: [{ index, function: { arguments: args.slice(half) } }] }, null));
    });
    if (t.streamError) { res.end(`data: ${JSON.stringify({ error: { message: t.streamError.message, type: t.streamError.type } })}\n\n`); return; }
    res.write(chunk({}, finish(t)));
    if (includeUsage) res.write(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [], usage })}\n\n`);
    res.end('data: [DONE]\n\n');
  }, (e, res) => {
    res.writeHead(e.status, { 'content-type': 'application/json', ...(e.retryAfter ? { 'retry-after': e.retryAfter } : {}) });
    res.end(JSON.stringify({ error: { message: e.message, type: e.type, param: null, code: null } }));
  }, (r) => {
    if (options.key !== null && r.headers[header] !== (header === 'authorization' ? `Bearer ${options.key}` : options.key)) {
      return { status: 401, body: { error: { message: 'Incorrect API key provided: sk-wr***ng. You can find your API key at https://platform.openai.com/account/api-keys.', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } } };
    }
    if (r.url.includes('/chat/completions') && (!Array.isArray(r.body.messages) || (!r.url.includes('/deployments/') && typeof r.body.model !== 'string'))) {
      return { status: 400, body: { error: { message: "Missing required parameter: 'messages'.", type: 'invalid_request_error', param: 'messages', code: 'missing_required_parameter' } } };
    }
    return null;
  });
}

// ---------------------------------------------------------------- Anthropic Messages

export function startFakeAnthropic(key: string): Promise<FakeProvider> {
  const stopReason = (t: ScriptedTurn) => (t.stop === 'tool' ? 'tool_use' : t.stop === 'length' ? 'max_tokens' : 'end_turn');
  return startFake(async (req, t, res) => {
    const model = String(req.body.model);
    const content: object[] = [];
    if (t.text) content.push({ type: 'text', text: t.text });
    for (const c of t.toolCalls ?? []) content.push({ type: 'tool_use', id: c.id, name: c.name, input: c.args });
    if (req.body.stream !== true) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'msg_fake01', type: 'message', role: 'assistant', model, content, stop_reason: stopReason(t), stop_sequence: null, usage: { input_tokens: t.usage.input, output_tokens: t.usage.output, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } }));
      return;
    }
    const ev = (name: string, data: object) => res.write(`event: ${name}\ndata: ${JSON.stringify({ type: name, ...data })}\n\n`);
    sse(res);
    ev('message_start', { message: { id: 'msg_fake01', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: t.usage.input, output_tokens: 1 } } });
    let index = 0;
    if (t.text) {
      ev('content_block_start', { index, content_block: { type: 'text', text: '' } });
      ev('ping', {});
      for (const w of words(t.text)) { ev('content_block_delta', { index, delta: { type: 'text_delta', text: w } }); await pause(); }
      if (t.streamError) { ev('error', { error: { type: t.streamError.type, message: t.streamError.message } }); res.end(); return; }
      ev('content_block_stop', { index });
      index++;
    }
    for (const c of t.toolCalls ?? []) {
      const json = JSON.stringify(c.args);
      ev('content_block_start', { index, content_block: { type: 'tool_use', id: c.id, name: c.name, input: {} } });
      ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: '' } });
      ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: json.slice(0, 5) } });
      ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: json.slice(5) } });
      ev('content_block_stop', { index });
      index++;
    }
    ev('message_delta', { delta: { stop_reason: stopReason(t), stop_sequence: null }, usage: { output_tokens: t.usage.output } });
    ev('message_stop', {});
    res.end();
  }, (e, res) => {
    res.writeHead(e.status, { 'content-type': 'application/json', ...(e.retryAfter ? { 'retry-after': e.retryAfter } : {}) });
    res.end(JSON.stringify({ type: 'error', error: { type: e.type, message: e.message } }));
  }, (r) => {
    const err = (status: number, type: string, message: string) => ({ status, body: { type: 'error', error: { type, message } } });
    if (r.url !== '/v1/messages') return err(404, 'not_found_error', 'Not found');
    if (r.headers['x-api-key'] !== key) return err(401, 'authentication_error', 'invalid x-api-key');
    if (!r.headers['anthropic-version']) return err(400, 'invalid_request_error', 'anthropic-version: header is required');
    if (typeof r.body.max_tokens !== 'number') return err(400, 'invalid_request_error', 'max_tokens: Field required');
    const msgs = r.body.messages as { role: string }[] | undefined;
    if (!Array.isArray(msgs) || msgs.length === 0) return err(400, 'invalid_request_error', 'messages: Field required');
    if (msgs.some((m) => m.role !== 'user' && m.role !== 'assistant')) return err(400, 'invalid_request_error', 'messages: roles must be user or assistant; use the top-level system parameter');
    return null;
  });
}

// ---------------------------------------------------------------- Gemini generateContent

export function startFakeGemini(key: string): Promise<FakeProvider> {
  const finishReason = (t: ScriptedTurn) => (t.stop === 'length' ? 'MAX_TOKENS' : 'STOP');
  return startFake(async (req, t, res) => {
    const m = /^\/v1beta\/models\/([^:]+):(generateContent|streamGenerateContent|batchEmbedContents)/.exec(req.url)!;
    const modelVersion = decodeURIComponent(m[1]!);
    const usageMetadata = { promptTokenCount: t.usage.input, candidatesTokenCount: t.usage.output, totalTokenCount: t.usage.input + t.usage.output };
    const calls = (t.toolCalls ?? []).map((c) => ({ functionCall: { name: c.name, args: c.args } }));
    if (m[2] === 'batchEmbedContents') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ embeddings: (req.body.requests as unknown[]).map((_r, i) => ({ values: [i, 0.125] })) }));
      return;
    }
    if (m[2] === 'generateContent') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ candidates: [{ content: { role: 'model', parts: [...(t.text ? [{ text: t.text }] : []), ...calls] }, finishReason: finishReason(t), index: 0 }], usageMetadata, modelVersion, responseId: 'resp-fake-1' }));
      return;
    }
    sse(res);
    const pieces = words(t.text ?? '');
    for (const [i, w] of pieces.entries()) {
      const last = i === pieces.length - 1 && calls.length === 0;
      res.write(`data: ${JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: w }] }, ...(last ? { finishReason: finishReason(t) } : {}), index: 0 }], usageMetadata: last ? usageMetadata : { promptTokenCount: t.usage.input, totalTokenCount: t.usage.input }, modelVersion, responseId: 'resp-fake-1' })}\r\n\r\n`);
      await pause();
    }
    if (t.streamError) { res.end(`data: ${JSON.stringify({ error: { code: 503, message: t.streamError.message, status: 'UNAVAILABLE' } })}\r\n\r\n`); return; }
    if (calls.length) res.write(`data: ${JSON.stringify({ candidates: [{ content: { role: 'model', parts: calls }, finishReason: 'STOP', index: 0 }], usageMetadata, modelVersion, responseId: 'resp-fake-1' })}\r\n\r\n`);
    res.end();
  }, (e, res) => {
    res.writeHead(e.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: e.status, message: e.message, status: e.type } }));
  }, (r) => {
    const err = (status: number, s: string, message: string) => ({ status, body: { error: { code: status, message, status: s } } });
    if (!/^\/v1beta\/models\/[^:]+:(generateContent|streamGenerateContent\?alt=sse|batchEmbedContents)$/.test(r.url)) return err(404, 'NOT_FOUND', `Unknown path ${r.url}`);
    if (r.headers['x-goog-api-key'] !== key) return err(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.');
    if (r.url.includes('batchEmbedContents')) return null;
    const contents = r.body.contents as { role: string; parts: unknown[] }[] | undefined;
    if (!Array.isArray(contents) || contents.length === 0) return err(400, 'INVALID_ARGUMENT', '* GenerateContentRequest.contents: contents is not specified');
    if (contents.some((c) => c.role !== 'user' && c.role !== 'model')) return err(400, 'INVALID_ARGUMENT', 'Please use a valid role: user, model.');
    return null;
  });
}
