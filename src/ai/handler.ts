import type { IncomingMessage } from 'node:http';
import type { CheckRecord } from '../pipeline/types.ts';
import { accessFor, allowedList } from './access.ts';
import { refusal, serveChat } from './chat.ts';
import { serveEmbeddings } from './embeddings.ts';
import type { AiExchange, AiOutcome, AiRoute } from './outcome.ts';
import { parseChatRequest, parseEmbeddingsRequest, parseJsonBody } from './parse-request.ts';
import { servePrompt } from './prompt-api.ts';
import { sendJson, type AiProblem } from './respond.ts';

// The AI gateway behind the check chain: the route already authenticated the caller and
// applied its policies; this answers /v1/chat/completions, /v1/embeddings, /v1/models (the
// OpenAI wire format) and prompt APIs, and reports what happened for the trace.

type Body = { ok: true; text: string } | { ok: false; why: 'too_large' | 'gone' };

function readBody(req: IncomingMessage, limit: number): Promise<Body> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) { resolve({ ok: false, why: 'too_large' }); return; }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) { req.removeAllListeners('data'); resolve({ ok: false, why: 'too_large' }); return; }
      chunks.push(c);
    });
    req.once('end', () => resolve({ ok: true, text: Buffer.concat(chunks).toString('utf8') }));
    req.once('error', () => resolve({ ok: false, why: 'gone' }));
    req.once('close', () => { if (!req.complete) resolve({ ok: false, why: 'gone' }); });
  });
}

const requestRecord = (problem: AiProblem, route: AiRoute): CheckRecord => ({ id: 'ai-request', phase: 'pre-auth', outcome: 'deny', code: problem.code, evidence: problem.evidence, detail: problem.detail, source: route.source, micros: 0 });

function invalid(x: AiExchange, route: AiRoute, problem: string): AiOutcome {
  const p: AiProblem = { code: 'ai_request_invalid', detail: `The request body is not valid: ${problem}.`, evidence: { problem: problem.slice(0, 200) } };
  return refusal(x, p, requestRecord(p, route));
}

type Endpoint = 'chat' | 'embeddings' | 'models' | 'model' | 'prompt' | null;

function endpointOf(route: AiRoute, method: string, path: string): { endpoint: Endpoint; modelId?: string } {
  if (route.prompt) return { endpoint: method === 'POST' ? 'prompt' : null };
  if (method === 'POST' && path.endsWith('/chat/completions')) return { endpoint: 'chat' };
  if (method === 'POST' && path.endsWith('/embeddings')) return { endpoint: 'embeddings' };
  if (method === 'GET' && path.endsWith('/models')) return { endpoint: 'models' };
  const m = /\/models\/([^/]+)$/.exec(path);
  if (method === 'GET' && m) return { endpoint: 'model', modelId: decodeURIComponent(m[1]!) };
  return { endpoint: null };
}

export async function serveAi(route: AiRoute, x: AiExchange): Promise<AiOutcome> {
  const { endpoint, modelId } = endpointOf(route, x.ctx.method, x.ctx.path);
  if (!route.runtime) throw new Error('AI route served without an AI runtime');
  if (endpoint === null) {
    const p: AiProblem = { code: 'route_not_found', detail: `${x.ctx.method} ${x.ctx.path} is not an AI gateway endpoint (POST /v1/chat/completions, POST /v1/embeddings, GET /v1/models).`, evidence: { path: x.ctx.path } };
    return refusal(x, p, requestRecord(p, route));
  }
  if (endpoint === 'models' || endpoint === 'model') return serveModels(route, x, modelId ?? null);
  const body = await readBody(x.req, route.maxBodyBytes);
  if (!body.ok) {
    if (body.why === 'gone') return { status: 499, code: null, answeredBy: 'none', record: { id: 'ai-request', phase: 'pre-auth', outcome: 'continue', micros: 0 }, upstream: null, extra: { aborted: 'client closed the connection while sending the body' } };
    const p: AiProblem = { code: 'payload_too_large', detail: `The body exceeds the ${route.maxBodyBytes} bytes this route accepts.`, evidence: { limit: route.maxBodyBytes }, headers: { connection: 'close' } };
    return refusal(x, p, requestRecord(p, route));
  }
  const json = parseJsonBody(body.text);
  if (!json.ok) return invalid(x, route, json.problem);
  if (endpoint === 'prompt') return servePrompt(route, x, json.value);
  if (endpoint === 'embeddings') {
    const e = parseEmbeddingsRequest(json.value);
    return e.ok ? serveEmbeddings(route, x, e.value) : invalid(x, route, e.problem);
  }
  const chat = parseChatRequest(json.value);
  return chat.ok ? serveChat(route, x, chat.value) : invalid(x, route, chat.problem);
}

/** GET /v1/models lists what this caller may use; GET /v1/models/{id} one of them. */
function serveModels(route: AiRoute, x: AiExchange, id: string | null): AiOutcome {
  const { ai } = route;
  const allowed = allowedList(ai, accessFor(ai, x.ctx.identity));
  const entry = (name: string) => ({ id: name, object: 'model', created: 0, owned_by: ai.models.get(name)!.provider.name });
  const record: CheckRecord = { id: 'ai', phase: 'authz', outcome: 'continue', evidence: { listed: allowed.length }, micros: 0 };
  if (id !== null) {
    if (!allowed.includes(id)) {
      const known = ai.models.has(id);
      const p: AiProblem = known
        ? { code: 'model_not_allowed', detail: `This app may not use model "${id}".`, evidence: { model: id, allowed } }
        : { code: 'model_not_found', detail: `Model "${id.slice(0, 100)}" is not served here.`, evidence: { model: id.slice(0, 100) } };
      return refusal(x, p, { ...record, id: 'ai-model-access', outcome: 'deny', code: p.code, evidence: p.evidence, detail: p.detail, source: ai.accessSource });
    }
    sendJson(x.res, 200, entry(id), x.responseHeaders);
  } else {
    sendJson(x.res, 200, { object: 'list', data: allowed.map(entry) }, x.responseHeaders);
  }
  return { status: 200, code: null, answeredBy: 'gateway', record, upstream: null, extra: {} };
}
