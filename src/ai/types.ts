// The gateway's canonical form is the OpenAI Chat Completions wire format: requests arrive
// in it, answers leave in it, and each provider adapter translates to and from its own API.

export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export interface ToolCall {
  readonly id: string;
  readonly type: 'function';
  readonly function: { readonly name: string; readonly arguments: string };
}

export type ContentPart = { readonly type: 'text'; readonly text: string } | { readonly type: string; readonly [k: string]: Json };

export interface ChatMessage {
  readonly role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  readonly content: string | readonly ContentPart[] | null;
  readonly name?: string;
  readonly tool_calls?: readonly ToolCall[];
  readonly tool_call_id?: string;
}

export interface ToolDef {
  readonly type: 'function';
  readonly function: { readonly name: string; readonly description?: string; readonly parameters?: JsonObject };
}

export type ToolChoice = 'none' | 'auto' | 'required' | { readonly type: 'function'; readonly function: { readonly name: string } };

/** A validated chat request. `raw` keeps every field the client sent, for OpenAI-format providers. */
export interface ChatRequest {
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  readonly stream: boolean;
  readonly includeUsage: boolean;
  readonly maxTokens: number | null;
  readonly temperature: number | null;
  readonly topP: number | null;
  readonly stop: readonly string[];
  readonly tools: readonly ToolDef[];
  readonly toolChoice: ToolChoice | null;
  readonly raw: JsonObject;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

export interface Usage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
}

export interface ChatCompletion {
  readonly id: string;
  readonly object: 'chat.completion';
  readonly created: number;
  readonly model: string;
  readonly choices: readonly {
    readonly index: number;
    readonly message: { readonly role: 'assistant'; readonly content: string | null; readonly tool_calls?: readonly ToolCall[]; readonly refusal?: string | null };
    readonly finish_reason: FinishReason | null;
    readonly logprobs?: null;
  }[];
  readonly usage?: Usage;
  readonly [k: string]: Json | undefined | object;
}

export interface ChunkToolCall {
  readonly index: number;
  readonly id?: string;
  readonly type?: 'function';
  readonly function?: { readonly name?: string; readonly arguments?: string };
}

export interface ChatChunk {
  readonly id: string;
  readonly object: 'chat.completion.chunk';
  readonly created: number;
  readonly model: string;
  readonly choices: readonly {
    readonly index: number;
    readonly delta: { readonly role?: 'assistant'; readonly content?: string | null; readonly tool_calls?: readonly ChunkToolCall[] };
    readonly finish_reason: FinishReason | null;
  }[];
  readonly usage?: Usage | null;
}

export interface EmbeddingsRequest {
  readonly model: string;
  readonly input: readonly string[];
  readonly raw: JsonObject;
}

export interface EmbeddingsResult {
  readonly vectors: readonly (readonly number[])[];
  readonly usage: { readonly prompt_tokens: number; readonly total_tokens: number };
}

export const usageOf = (prompt: number, completion: number): Usage => ({ prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion });
