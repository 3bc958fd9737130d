/**
 * SIP references:
 *
 * - `ws-sip-canned` (sip-register): a raw `ws` server that answers every message with a canned
 *   response of the size the subject's answer has, alternating per connection: the 1st, 3rd, ...
 *   message gets a 401 with two `WWW-Authenticate` lines (SHA-256 first, MD5 last, fixed nonce),
 *   the 2nd, 4th, ... a 200 with the binding's Contact. Nothing is parsed, checked or
 *   stored: the ceiling of a REGISTER round trip with no SIP work.
 * - `ws-sip-relay` (sip-message): a raw `ws` relay that pairs connections by the order they
 *   connect (1st with 2nd, 3rd with 4th, ...), answers the first message of each connection (its
 *   REGISTER) with a canned 200 and forwards every later message to the pair's peer unchanged,
 *   unparsed: the ceiling of a MESSAGE relay.
 * - `kamailio` (both): Kamailio 5.6 from Debian (`apt-get install kamailio
 *   kamailio-websocket-modules`) run with `src/servers/sip-kamailio.cfg`: one SIP worker, the
 *   location table in memory, WebSocket on 127.0.0.1. Skipped with the reason when the binary or
 *   its websocket module is missing or it does not start. Started from this (CPU-0-pinned)
 *   server child, so it inherits the pinning.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, connect as netConnect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import { SIP_DOMAIN, SIP_SUBPROTOCOL, sipUser } from '../load/sip.js';
import { closeAll, listen } from './ws.js';
import { UnavailableError, type ServerFactory } from './types.js';

function sipServer(): { http: Server; wss: WebSocketServer } {
  const http = createServer();
  const wss = new WebSocketServer({
    server: http,
    perMessageDeflate: false,
    maxPayload: 1024 * 1024,
    handleProtocols: (protocols) => (protocols.has(SIP_SUBPROTOCOL) ? SIP_SUBPROTOCOL : false),
  });
  return { http, wss };
}

/*
 * The canned answers: what the subject answers the load's REGISTERs, header for header and with
 * values of the same lengths (581 and 606 bytes, measured against @protoplex/sip): Via with
 * `received` (RFC 3261 §18.2.1), To with the registrar's tag, the two challenge lines of RFC 8760
 * §2.4, and in the 200 the Contact with its `expires` and GRUUs (RFC 5627), Date, and the
 * Outbound headers (RFC 5626 §6: `Require: outbound`, `Flow-Timer`).
 */
const aor = `sip:${sipUser(0)}@${SIP_DOMAIN}`;
const via = 'Via: SIP/2.0/WS abcdefghijkl.invalid;received=127.0.0.1;branch=z9hG4bK1234567\r\n';
const dialog = (cseq: number): string =>
  `From: <${aor}>;tag=abcdefghij\r\nTo: <${aor}>;tag=0123456789ab\r\nCall-ID: abcdefghijklmnopqrst\r\nCSeq: ${cseq} REGISTER\r\n`;
const nonce = 'AaI0P9nL51-TcOA36t0XpK1Y0spA0abELGqYWJHdY8NeDbXsUBDdQQPPawbHV24pYHf-Nq_W';
const challenge = (algorithm: string): string => `WWW-Authenticate: Digest realm="${SIP_DOMAIN}", nonce="${nonce}", algorithm=${algorithm}, qop="auth"\r\n`;
const CANNED_401 = Buffer.from(`SIP/2.0 401 Unauthorized\r\n${via}${dialog(1)}${challenge('SHA-256')}${challenge('MD5')}Content-Length: 0\r\n\r\n`);
const instance = 'urn:uuid:abcdefgh-abcd-4abc-8abc-abcdefghijkl';
const contact =
  `Contact: <sip:abcdefgh@abcdefghijkl.invalid;transport=ws>;expires=600;+sip.instance="<${instance}>";reg-id=1` +
  `;pub-gruu="${aor};gr=${instance}";temp-gruu="sip:tgruu.0123456789ab@${SIP_DOMAIN};gr"\r\n`;
const CANNED_REGISTER_200 = Buffer.from(
  `SIP/2.0 200 OK\r\n${via}${dialog(2)}${contact}Date: Wed, 02 Dec 2026 00:55:29 GMT\r\nRequire: outbound\r\nFlow-Timer: 120\r\nContent-Length: 0\r\n\r\n`,
);

export const wsSipCanned: ServerFactory = async () => {
  const { http, wss } = sipServer();
  wss.on('connection', (ws) => {
    let odd = true;
    ws.on('message', () => {
      ws.send(odd ? CANNED_401 : CANNED_REGISTER_200, { binary: false });
      odd = !odd;
    });
  });
  const port = await listen(http);
  return { port, connections: () => wss.clients.size, close: () => closeAll(wss, http) };
};

export const wsSipRelay: ServerFactory = async () => {
  const { http, wss } = sipServer();
  /** Connections waiting for their pair's second connection. */
  let waiting: { ws: WebSocket; peer?: WebSocket } | undefined;
  wss.on('connection', (ws) => {
    const self: { ws: WebSocket; peer?: WebSocket } = { ws };
    if (waiting) {
      waiting.peer = ws;
      self.peer = waiting.ws;
      waiting = undefined;
    } else {
      waiting = self;
    }
    let registered = false;
    ws.on('message', (data: Buffer, isBinary) => {
      if (!registered) {
        registered = true;
        return void ws.send(CANNED_REGISTER_200, { binary: false });
      }
      self.peer?.send(data, { binary: isBinary });
    });
    ws.on('close', () => {
      if (waiting === self) waiting = undefined;
    });
  });
  const port = await listen(http);
  return { port, connections: () => wss.clients.size, close: () => closeAll(wss, http) };
};

const KAMAILIO = '/usr/sbin/kamailio';
const MODULES = '/usr/lib/x86_64-linux-gnu/kamailio/modules';
const TEMPLATE = fileURLToPath(new URL('./sip-kamailio.cfg', import.meta.url));

/** A free port on 127.0.0.1 (Kamailio is told its port; it cannot report an OS-chosen one). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once a TCP connection to `port` succeeds; rejects when `failed()` or after `ms`. */
async function accepting(port: number, failed: () => string | undefined, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const problem = failed();
    if (problem) throw new UnavailableError(problem);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = netConnect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new UnavailableError(`kamailio did not listen on 127.0.0.1:${port} within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Kamailio's process tree: `root` and every process whose parent is in it (from /proc). */
function tree(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 (ppid) follows the command name in parentheses, which may contain spaces.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), Number(fields[1]));
    } catch {
      // The process ended while the table was read.
    }
  }
  const pids = [root];
  for (let i = 0; i < pids.length; i++) for (const [pid, ppid] of parents) if (ppid === pids[i]) pids.push(pid);
  return pids;
}

/**
 * CPU time of `pids` in µs: the first field of /proc/<pid>/schedstat is the time spent on a CPU
 * in ns, finer than the 10 ms ticks of /proc/<pid>/stat; the ticks are the fallback.
 */
function cpuMicrosOf(pids: readonly number[]): number {
  let micros = 0;
  for (const pid of pids) {
    try {
      micros += Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1000;
    } catch {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        // utime and stime (fields 14 and 15) in clock ticks of 10 ms (USER_HZ 100 on Linux).
        micros += (Number(fields[11]) + Number(fields[12])) * 10_000;
      } catch {
        // Gone.
      }
    }
  }
  return micros;
}

/** Proportional set size of `pids` in bytes (their shared memory segment counted once). */
function pssOf(pids: readonly number[]): number {
  let bytes = 0;
  for (const pid of pids) {
    try {
      const match = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      if (match) bytes += Number(match[1]) * 1024;
    } catch {
      // Gone, or no smaps_rollup on this kernel.
    }
  }
  return bytes;
}

/**
 * Kamailio with `src/servers/sip-kamailio.cfg`: `auth: true` challenges REGISTER (MD5, or
 * SHA-256 with `algorithm: 'SHA-256'`). This child only supervises it, so the server snapshots
 * must measure Kamailio: `process.cpuUsage()` and `process.memoryUsage()`, which the server child
 * reads at each mark (`src/server-process.ts`), are pointed at Kamailio's process tree (CPU time
 * summed, memory as the tree's PSS) for as long as it runs.
 */
export const kamailio: ServerFactory = async (options) => {
  if (!existsSync(KAMAILIO)) throw new UnavailableError(`${KAMAILIO} not found (apt-get install -y kamailio kamailio-websocket-modules)`);
  if (!existsSync(join(MODULES, 'websocket.so'))) throw new UnavailableError(`${MODULES}/websocket.so not found (apt-get install -y kamailio-websocket-modules)`);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bench-kamailio-'));
  const config = join(dir, 'kamailio.cfg');
  writeFileSync(
    config,
    readFileSync(TEMPLATE, 'utf8')
      .replaceAll('__PORT__', String(port))
      .replaceAll('__MODULES__', `${MODULES}/`)
      .replaceAll('__SECRET__', randomBytes(16).toString('hex')),
  );
  const defines = [...(options.auth === true ? ['-A', 'WITH_AUTH'] : []), ...(options.algorithm === 'SHA-256' ? ['-A', 'WITH_SHA256'] : [])];
  // -DD: stay in the foreground (no daemon), with the worker processes forked; -E: log to stderr.
  const child: ChildProcess = spawn(KAMAILIO, ['-DD', '-E', '-f', config, '-Y', dir, '-m', '1024', '-M', '16', ...defines], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  /** Error lines Kamailio logged while serving (debug=-1 logs nothing else), and the last one. */
  const logged = { errors: 0, last: '', closing: false };
  child.stderr!.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    stderr = (stderr + text).slice(-4000);
    if (logged.closing) return;
    for (const line of text.split('\n')) {
      if (!/ (ERROR|CRITICAL|ALERT|BUG):/.test(line)) continue;
      logged.errors++;
      logged.last = line.trim();
    }
  });
  let exit: string | undefined;
  child.once('exit', (code, signal) => {
    exit = `kamailio exited (${signal ?? code}) before it listened: ${stderr.trim().split('\n').slice(-3).join(' | ')}`;
  });
  child.once('error', (error) => {
    exit = `kamailio did not start: ${error.message}`;
  });
  // Kamailio must not outlive this child, however it ends.
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', kill);
  try {
    await accepting(port, () => exit);
  } catch (error) {
    kill();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const pid = child.pid!;
  const own = { cpuUsage: process.cpuUsage.bind(process), memoryUsage: process.memoryUsage };
  let pids = tree(pid);
  const refresh = (): number[] => (pids = tree(pid));
  process.cpuUsage = ((): NodeJS.CpuUsage => ({ user: cpuMicrosOf(refresh()), system: 0 })) as typeof process.cpuUsage;
  const memoryUsage = (): NodeJS.MemoryUsage => ({ ...own.memoryUsage.call(process), rss: pssOf(pids) });
  process.memoryUsage = Object.assign(memoryUsage, { rss: () => pssOf(pids) }) as typeof process.memoryUsage;
  return {
    port,
    // Kamailio keeps its connection table to itself; the bench reads this only in memory runs.
    connections: () => 0,
    async close() {
      logged.closing = true;
      // The load counts the failed requests; this says why they failed.
      if (logged.errors > 0) console.error(`kamailio logged ${logged.errors} errors, the last: ${logged.last}`);
      process.cpuUsage = own.cpuUsage;
      process.memoryUsage = own.memoryUsage;
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const timer = setTimeout(kill, 2000);
        await exited;
        clearTimeout(timer);
      }
      process.removeListener('exit', kill);
      rmSync(dir, { recursive: true, force: true });
    },
  };
};
