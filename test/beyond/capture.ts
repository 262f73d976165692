// Real client bytes for the HTTP and TLS examples: what Node's own http and tls
// clients write on a socket, recorded by a local net.Server on 127.0.0.1 (no
// network beyond loopback), and what Node's http server answers.
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';

// Rejects after ms milliseconds: a capture that never completes fails the test
// instead of hanging it.
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

// Listens on an ephemeral loopback port; onData sees every byte a client
// sends on one connection and may answer.  Returns the port and a closer.
async function recorder(
  onConn: (sock: net.Socket, received: () => Uint8Array) => void,
): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    const chunks: Buffer[] = [];
    sock.on('data', (d) => chunks.push(d));
    onConn(sock, () => new Uint8Array(Buffer.concat(chunks)));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: async () => {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

export interface HttpRequestSpec {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

// The bytes Node's http client writes for each request (headers and body).
export async function captureHttpRequests(specs: HttpRequestSpec[]): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (const spec of specs) {
    let got: Uint8Array = new Uint8Array(0);
    const rec = await recorder((sock, received) => {
      sock.on('data', () => {
        got = received();
        const text = Buffer.from(got).toString('latin1');
        const end = text.indexOf('\r\n\r\n');
        if (end < 0) return;
        const bodyLen = Buffer.byteLength(spec.body ?? '');
        if (got.length < end + 4 + bodyLen) return;
        sock.end('HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n');
      });
    });
    const exchange = new Promise<void>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: rec.port,
          method: spec.method,
          path: spec.path,
          headers: spec.headers,
          agent: false,
        },
        (res) => {
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end(spec.body);
    });
    await within(exchange, 10_000, `http ${spec.method} ${spec.path}`).finally(() => rec.close());
    out.push(got);
  }
  return out;
}

// The bytes Node's http server writes in reply to a GET, for each status code.
export async function captureHttpResponses(codes: number[]): Promise<Uint8Array[]> {
  const server = http.createServer((req, res) => {
    res.statusCode = Number(req.url?.slice(1));
    res.end('x');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const out: Uint8Array[] = [];
  for (const code of codes) {
    const sock = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    sock.on('data', (d) => chunks.push(d));
    sock.write(`GET /${code} HTTP/1.1\r\nHost: capture\r\nConnection: close\r\n\r\n`);
    await within(once(sock, 'close'), 10_000, `http response ${code}`).catch((e) => {
      sock.destroy();
      server.close();
      throw e;
    });
    out.push(new Uint8Array(Buffer.concat(chunks)));
  }
  server.close();
  return out;
}

export interface TlsHelloSpec {
  servername?: string;
  alpn?: string[];
  ciphers?: string;
  minVersion?: tls.SecureVersion;
  maxVersion?: tls.SecureVersion;
}

// The first TLS record Node's tls client writes: its ClientHello.  The server
// never answers; once the record is complete the connection is cut.
export async function captureClientHellos(specs: TlsHelloSpec[]): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (const spec of specs) {
    let hello: Uint8Array | undefined;
    let done!: () => void;
    const complete = new Promise<void>((r) => {
      done = r;
    });
    const rec = await recorder((sock, received) => {
      sock.on('data', () => {
        const b = received();
        if (b.length >= 5 && b.length >= 5 + ((b[3]! << 8) | b[4]!)) {
          hello = b.slice(0, 5 + ((b[3]! << 8) | b[4]!));
          sock.destroy();
          done();
        }
      });
    });
    const client = tls.connect({
      host: '127.0.0.1',
      port: rec.port,
      servername: spec.servername,
      ALPNProtocols: spec.alpn,
      ciphers: spec.ciphers,
      minVersion: spec.minVersion,
      maxVersion: spec.maxVersion,
      rejectUnauthorized: false,
    });
    client.on('error', () => {}); // the cut connection
    await within(complete, 10_000, `ClientHello for ${spec.servername ?? 'no SNI'}`).finally(async () => {
      client.destroy();
      await rec.close();
    });
    if (!hello) throw new Error('no ClientHello captured');
    out.push(hello);
  }
  return out;
}
