import type { IncomingMessage } from 'node:http';

// Buffering of a request body for the checks that must read it (WAF, JSON Schema, a CSRF
// token in a form field, the login form), up to the route's limit. The bytes are then
// forwarded as they were received: the checks judged exactly what the upstream gets.

export type BodyKind = 'json' | 'form' | 'multipart' | 'text' | 'other';

export interface RequestBody {
  readonly raw: Buffer;
  readonly mediaType: string;
  readonly kind: BodyKind;
  /** JSON bodies: the parsed value (undefined when it did not parse). */
  readonly json?: unknown;
  /** Form and multipart bodies: fields in order; a file contributes its file name. */
  readonly fields?: readonly (readonly [string, string])[];
  /** Why the body could not be parsed as its declared type, or null. */
  readonly parseError: string | null;
}

export type BodyRead =
  | { readonly kind: 'read'; readonly raw: Buffer }
  | { readonly kind: 'too_large'; readonly seen: number }
  | { readonly kind: 'aborted' };

/** Reads the whole body, stopping (without reading further) once it exceeds max. */
export function readBody(req: IncomingMessage, max: number): Promise<BodyRead> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let seen = 0;
    let settled = false;
    const settle = (r: BodyRead) => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onAbort);
      req.off('close', onClose);
      resolve(r);
    };
    const onData = (c: Buffer) => {
      seen += c.length;
      if (seen > max) { req.pause(); settle({ kind: 'too_large', seen }); return; }
      chunks.push(c);
    };
    const onEnd = () => settle({ kind: 'read', raw: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, seen) });
    const onAbort = () => settle({ kind: 'aborted' });
    const onClose = () => { if (!req.readableEnded) settle({ kind: 'aborted' }); };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onAbort);
    req.on('close', onClose);
  });
}

export function mediaTypeOf(contentType: string | undefined): string {
  return contentType === undefined ? '' : contentType.split(';', 1)[0]!.trim().toLowerCase();
}

function kindOf(media: string): BodyKind {
  if (media === 'application/json' || media.endsWith('+json')) return 'json';
  if (media === 'application/x-www-form-urlencoded') return 'form';
  if (media === 'multipart/form-data') return 'multipart';
  return binary.test(media) ? 'other' : 'text';
}

// Media types whose bytes are not text a backend reads as such: everything else (XML,
// GraphQL, JavaScript, unknown or missing types) is inspected as text.
const binary = /^(?:image|audio|video|font)\/|^application\/(?:octet-stream|pdf|zip|gzip|x-tar|x-7z-compressed|protobuf|x-protobuf|grpc|vnd\.ms-excel|msword|wasm)$/;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses a buffered body the way the upstream will: JSON.parse (which unescapes \uXXXX),
 * form decoding (+ and %XX), and multipart through undici's parser (the WHATWG one Node ships).
 */
export function parseBody(raw: Buffer, contentType: string | undefined): RequestBody | Promise<RequestBody> {
  const mediaType = mediaTypeOf(contentType);
  const kind = kindOf(mediaType);
  if (kind === 'multipart') return parseMultipart(raw, contentType ?? '', mediaType);
  if (kind === 'other') return { raw, mediaType, kind, parseError: null };
  let text: string;
  try { text = utf8.decode(raw); } catch { return { raw, mediaType, kind, parseError: 'the body is not valid UTF-8' }; }
  if (kind === 'json') {
    try { return { raw, mediaType, kind, json: JSON.parse(text), parseError: null }; } catch (err) {
      return { raw, mediaType, kind, parseError: `not valid JSON: ${(err as Error).message.slice(0, 120)}` };
    }
  }
  if (kind === 'form') {
    return { raw, mediaType, kind, fields: [...new URLSearchParams(text)], parseError: null };
  }
  return { raw, mediaType, kind, parseError: null };
}

async function parseMultipart(raw: Buffer, contentType: string, mediaType: string): Promise<RequestBody> {
  try {
    const form = await new Response(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength), { headers: { 'content-type': contentType } }).formData();
    const fields: [string, string][] = [];
    for (const [name, value] of form) {
      if (typeof value === 'string') fields.push([name, value]);
      else fields.push([`${name}.filename`, value.name]);
    }
    return { raw, mediaType, kind: 'multipart', fields, parseError: null };
  } catch (err) {
    return { raw, mediaType, kind: 'multipart', parseError: `not valid multipart/form-data: ${(err as Error).message.slice(0, 120)}` };
  }
}

export type BufferedBody =
  | { readonly kind: 'read'; readonly body: RequestBody }
  | { readonly kind: 'too_large'; readonly seen: number }
  | { readonly kind: 'aborted' };

/** Reads and parses the body of a request whose checks need it (gateway.ts). */
export async function bufferRequestBody(req: IncomingMessage, max: number): Promise<BufferedBody> {
  const read = await readBody(req, max);
  if (read.kind !== 'read') return read;
  return { kind: 'read', body: await parseBody(read.raw, req.headers['content-type']) };
}

/** A declared length above the limit is refused by the request-shape check without reading. */
export function shouldBuffer(req: IncomingMessage, max: number): boolean {
  const len = req.headers['content-length'];
  if (len !== undefined) return len !== '0' && Number(len) <= max;
  return req.headers['transfer-encoding'] !== undefined;
}
