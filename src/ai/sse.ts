// Server-sent events (WHATWG HTML, "Parsing an event stream"): enough of the grammar to read
// what model providers send (event, data, comments, CRLF or LF) and to write OpenAI's stream.

export interface SseEvent {
  readonly event: string | null;
  readonly data: string;
}

/** Reads a byte stream as SSE events; an event is dispatched on a blank line. */
export async function* readSse(body: AsyncIterable<Buffer | Uint8Array | string>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event: string | null = null;
  let data: string[] = [];
  const line = (l: string): SseEvent | null => {
    if (l === '') {
      if (data.length === 0) { event = null; return null; }
      const e = { event, data: data.join('\n') };
      event = null; data = [];
      return e;
    }
    if (l.startsWith(':')) return null;
    const colon = l.indexOf(':');
    const field = colon === -1 ? l : l.slice(0, colon);
    let value = colon === -1 ? '' : l.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    return null;
  };
  for await (const chunk of body) {
    buffer += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    // One pass over the buffer per read: providers send many events per network read.
    let pos = 0;
    while (pos < buffer.length) {
      const lf = buffer.indexOf('\n', pos);
      const cr = buffer.indexOf('\r', pos);
      const nl = cr === -1 ? lf : lf === -1 ? cr : Math.min(lf, cr);
      if (nl === -1) break;
      // A CR at the very end may be the first half of a CRLF split across reads.
      if (nl === cr && nl === buffer.length - 1) break;
      const l = buffer.slice(pos, nl);
      pos = nl + (buffer[nl] === '\r' && buffer[nl + 1] === '\n' ? 2 : 1);
      const e = line(l);
      if (e) yield e;
    }
    buffer = buffer.slice(pos);
  }
  buffer += decoder.decode();
  if (buffer !== '') { const e = line(buffer); if (e) yield e; }
  const last = line('');
  if (last) yield last;
}

export const sseData = (payload: unknown): string => `data: ${JSON.stringify(payload)}\n\n`;
export const sseDone = 'data: [DONE]\n\n';
