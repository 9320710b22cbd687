// A small static server for the example (node:http, no dependencies): serves examples/browser/dist
// with the right content types (.wasm as application/wasm, which streaming compile needs).
// `npx tsx examples/browser/serve.ts [--port N]` (default 8080; 0 picks a free port).
import { createReadStream, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.svg': 'image/svg+xml',
};

export interface StaticServer {
  server: Server;
  url: string;
  close: () => Promise<void>;
}

/** Serves the files under `root` (GET and HEAD only; no directory listings; no path escapes). */
export function serveStatic(root: string, port = 8080, host = '127.0.0.1'): Promise<StaticServer> {
  const base = resolve(root);
  const server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = normalize(join(base, path.endsWith('/') ? `${path}index.html` : path));
    if (file !== base && !file.startsWith(base + sep)) {
      res.writeHead(403).end();
      return;
    }
    let size: number;
    try {
      const st = statSync(file);
      if (!st.isFile()) throw new Error('not a file');
      size = st.size;
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}`);
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': size,
      'cache-control': 'no-store',
    });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      const a = server.address() as AddressInfo;
      ok({
        server,
        url: `http://${host}:${a.port}/`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--port');
  const port = i > 0 ? Number(process.argv[i + 1]) : 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port must be an integer 0..65535, got ${process.argv[i + 1]}`);
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'dist');
  try {
    statSync(join(dir, 'index.html'));
  } catch {
    throw new Error(`${dir} has no index.html: build first (npx tsx examples/browser/build.ts)`);
  }
  const s = await serveStatic(dir, port);
  console.log(`frugal browser example: ${s.url} (Ctrl-C to stop)`);
}
