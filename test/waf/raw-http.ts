import { connect } from 'node:net';

/** Writes raw bytes to the gateway and returns everything it answers until it closes. */
export function rawExchange(url: string, raw: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(raw));
    let out = '';
    socket.on('data', (d: Buffer) => { out += d.toString('latin1'); });
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
    socket.setTimeout(5000, () => { socket.destroy(); resolve(out); });
  });
}
