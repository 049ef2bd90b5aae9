import OpenAI from 'openai';
import { openDatabase } from '../../src/store/sqlite/database.ts';
import { keyEntry, type TestGateway } from '../support/harness.ts';

// Shared by the AI gateway tests: a config with two apps of one tenant, and the official
// OpenAI client pointed at the gateway as any application would point it.

export const writerKey = 'pk_test_ai_writer';
export const readerKey = 'pk_test_ai_reader';
export const otherKey = 'pk_test_ai_other';

export const aiRoutes = [
  { id: 'ai-chat', path: '/v1/chat/completions', methods: ['POST'], upstream: 'ai', auth: ['apiKey'] },
  { id: 'ai-embeddings', path: '/v1/embeddings', methods: ['POST'], upstream: 'ai', auth: ['apiKey'] },
  { id: 'ai-models', path: '/v1/models', methods: ['GET'], upstream: 'ai', auth: ['apiKey'] },
  { id: 'ai-model', path: '/v1/models/{id}', methods: ['GET'], upstream: 'ai', auth: ['apiKey'] },
];

export function aiConfig(ai: Record<string, unknown>, extraRoutes: object[] = []): object {
  return {
    gateway: { verbosity: 'debug' },
    tenants: [{ id: 'acme' }],
    consumers: [
      { id: 'writer-app', tenant: 'acme', keys: [keyEntry(writerKey, 'key_writer')] },
      { id: 'reader-app', tenant: 'acme', keys: [keyEntry(readerKey, 'key_reader')] },
      { id: 'other-app', tenant: 'acme', keys: [keyEntry(otherKey, 'key_other')] },
    ],
    routes: [...aiRoutes, ...extraRoutes],
    ai,
  };
}

/** The real OpenAI SDK, with retries off so that each test sees exactly one exchange. */
export function openaiClient(t: TestGateway, apiKey = writerKey): OpenAI {
  return new OpenAI({ apiKey, baseURL: `${t.url}/v1`, maxRetries: 0, timeout: 10_000 });
}

export interface UsageRecord {
  request_id: string; consumer_id: string; credential_id: string; tenant_id: string; model: string; provider: string; provider_model: string;
  prompt_tokens: number; completion_tokens: number; total_tokens: number; cost_nano_usd: number; stream: number; complete: number; endpoint: string;
}

/** The ai_usage rows once the gateway has written what it queued. */
export async function usageRows(t: TestGateway): Promise<UsageRecord[]> {
  const deadline = Date.now() + 2000;
  await new Promise((r) => setTimeout(r, 80));
  const db = openDatabase(t.databaseFile, { readOnly: true });
  try {
    while (true) {
      try {
        return db.prepare('SELECT * FROM ai_usage ORDER BY rowid').all() as unknown as UsageRecord[];
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  } finally {
    db.close();
  }
}

/** Collects a streamed completion: the chunks and the text they add up to. */
export async function collect(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>): Promise<{ chunks: OpenAI.Chat.Completions.ChatCompletionChunk[]; text: string }> {
  const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
  let text = '';
  for await (const c of stream) { chunks.push(c); text += c.choices[0]?.delta.content ?? ''; }
  return { chunks, text };
}
