import type { ChatMessage, ContentPart, Json, JsonObject } from '../types.ts';

// Pieces shared by the translations to non-OpenAI providers.

export function textOf(content: ChatMessage['content']): string {
  if (content === null) return '';
  if (typeof content === 'string') return content;
  return content.map((p) => (p.type === 'text' && typeof p.text === 'string' ? p.text : '')).join('');
}

/** System and developer messages become the provider's separate system instruction. */
export function systemText(messages: readonly ChatMessage[]): string | null {
  const parts = messages.filter((m) => m.role === 'system' || m.role === 'developer').map((m) => textOf(m.content)).filter((t) => t !== '');
  return parts.length ? parts.join('\n\n') : null;
}

/** Tool-call arguments are a JSON string in the OpenAI format and an object elsewhere. */
export function parseArguments(args: string): JsonObject {
  try {
    const v = JSON.parse(args) as Json;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : { value: v };
  } catch {
    return {};
  }
}

export function imageUrlOf(part: ContentPart): string | null {
  if (part.type !== 'image_url') return null;
  const iu = (part as { image_url?: { url?: unknown } | string }).image_url;
  const url = typeof iu === 'string' ? iu : iu?.url;
  return typeof url === 'string' ? url : null;
}

export function dataUrl(url: string): { mediaType: string; data: string } | null {
  const m = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  return m ? { mediaType: m[1]!, data: m[2]! } : null;
}

/** Joins consecutive entries of the same role: Anthropic and Gemini expect alternating turns. */
export function mergeTurns<T extends { role: string; parts: unknown[] }>(turns: T[]): T[] {
  const out: T[] = [];
  for (const t of turns) {
    const prev = out.at(-1);
    if (prev && prev.role === t.role) prev.parts.push(...t.parts);
    else out.push({ ...t, parts: [...t.parts] });
  }
  return out;
}
