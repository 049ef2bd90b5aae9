import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TraceRecord } from '../log/trace.ts';
import type { CheckRecord, ConfigLocation, Evidence, RequestContext } from '../pipeline/types.ts';
import type { ReasonCode } from '../reasons/catalogue.ts';
import type { Verbosity } from '../reasons/problem.ts';
import type { CompiledAi, CompiledPrompt } from './compile-ai.ts';
import type { AiRuntime } from './runtime.ts';

/** What a route with `upstream: ai` carries once compiled. */
export interface AiRoute {
  readonly ai: CompiledAi;
  /** null only where requests are never served (simulate). */
  readonly runtime: AiRuntime | null;
  readonly prompt: CompiledPrompt | null;
  readonly source: ConfigLocation;
  /** The smaller of the route's body limit and ai.maxBodyBytes: chunked bodies are counted as read. */
  readonly maxBodyBytes: number;
}

/** One request as the gateway hands it over once the check chain has passed. */
export interface AiExchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly ctx: RequestContext;
  readonly requestId: string;
  readonly verbosity: Verbosity;
  readonly typeBase: string;
  /** Headers every answer carries (request id, rate-limit state). */
  readonly responseHeaders: readonly (readonly [string, string])[];
}

/** What the gateway writes to the call log about an AI request. */
export interface AiOutcome {
  readonly status: number;
  readonly code: ReasonCode | null;
  readonly answeredBy: 'gateway' | 'upstream' | 'none';
  /** The AI layer's own record (allow-list, quota, provider): appended to the chain's. */
  readonly record: CheckRecord;
  readonly upstream: TraceRecord['upstream'];
  readonly extra: Evidence;
}
