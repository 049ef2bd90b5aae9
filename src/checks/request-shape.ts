import type { Check, ConfigLocation, RequestContext, Verdict } from '../pipeline/types.ts';

export interface RequestShapeOptions {
  readonly maxBodyBytes: number;
  readonly maxBodySource: ConfigLocation;
  /** Lower-case media types (no parameters); null accepts any. */
  readonly contentTypes: ReadonlySet<string> | null;
  readonly contentTypesSource: ConfigLocation;
  readonly source: ConfigLocation;
}

/**
 * Refuses what the headers already show to be too big or of the wrong type, before any
 * byte of the body is read. Chunked bodies without a length are counted while streaming.
 */
export function createRequestShapeCheck(options: RequestShapeOptions): Check {
  return {
    id: 'request-shape',
    phase: 'pre-auth',
    source: options.source,
    evaluate(ctx: RequestContext): Verdict {
      const lengthHeader = ctx.headers['content-length'];
      const length = lengthHeader === undefined ? null : Number(lengthHeader);
      const hasBody = (length !== null && length > 0) || ctx.headers['transfer-encoding'] !== undefined;
      if (length !== null && length > options.maxBodyBytes) {
        return {
          kind: 'deny', code: 'payload_too_large', rule: options.maxBodySource,
          evidence: { content_length: length, max_body_bytes: options.maxBodyBytes },
          detail: `The body is ${length} bytes; this route accepts at most ${options.maxBodyBytes}.`,
        };
      }
      if (hasBody && options.contentTypes) {
        const raw = ctx.headers['content-type'];
        const media = raw === undefined ? '' : raw.split(';', 1)[0]!.trim().toLowerCase();
        if (!options.contentTypes.has(media)) {
          const accepted = [...options.contentTypes];
          return {
            kind: 'deny', code: 'unsupported_media_type', rule: options.contentTypesSource,
            evidence: { content_type: media || null, accepted },
            detail: `Content-Type ${media || '(none)'} is not accepted here; send one of: ${accepted.join(', ')}.`,
          };
        }
      }
      return { kind: 'continue', evidence: { content_length: length, chunked: length === null && hasBody } };
    },
  };
}
