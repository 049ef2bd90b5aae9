import type { Evidence } from '../pipeline/types.ts';
import { reasons, type ReasonCode } from './catalogue.ts';

export type Verbosity = 'minimal' | 'standard' | 'debug';

export interface ProblemInput {
  readonly code: ReasonCode;
  readonly requestId: string;
  /** Caller-safe sentence from the check; shown at standard and debug. */
  readonly detail?: string | undefined;
  readonly verbosity: Verbosity;
  readonly typeBase: string;
  /** debug only: the refusing check and its evidence. */
  readonly check?: string | undefined;
  readonly evidence?: Evidence | undefined;
  /**
   * Add an OpenAI-style `error` member (an RFC 9457 extension) on the AI gateway's routes:
   * OpenAI SDKs read `error.message` as their message and `error.code` as `err.code`, and
   * without it show the whole JSON document as the message.
   */
  readonly openAiError?: boolean | undefined;
}

/** The one place a refusal becomes an RFC 9457 body; the log and metrics use the same code. */
export function renderProblem(input: ProblemInput): { status: number; body: string } {
  const reason = reasons[input.code];
  const detail = input.verbosity === 'minimal' || !input.detail ? reason.title + '.' : input.detail;
  const body: Record<string, unknown> = {
    type: input.typeBase + input.code,
    title: reason.title,
    status: reason.status,
    detail,
    code: input.code,
    requestId: input.requestId,
  };
  if (reason.status === 401 || reason.status === 403 || reason.status === 429) body.hint = reason.hint;
  if (input.openAiError) body.error = { message: detail, type: input.code, code: input.code, param: null };
  if (input.verbosity === 'debug') {
    if (input.check) body.check = input.check;
    if (input.evidence) body.evidence = input.evidence;
  }
  return { status: reason.status, body: JSON.stringify(body) };
}
