import { io } from 'socket.io-client';
import { SOCKET_PATH, type ServerToClientEvents } from '@solaris/wire';

type Handler = (...args: never[]) => void;

/**
 * The slice of socket.io-client's Socket the components use. The provider takes any object with
 * this shape, so tests can inject an in-memory emitter and the widget a real socket.
 */
export interface SolarisSocket {
  readonly connected: boolean;
  on<E extends keyof ServerToClientEvents>(event: E, fn: ServerToClientEvents[E]): unknown;
  on(event: 'connect' | 'disconnect' | 'connect_error', fn: Handler): unknown;
  off(event: string, fn?: Handler): unknown;
  connect(): unknown;
  disconnect(): unknown;
}

/**
 * Real socket: same origin, our path, cookies on the handshake; socket.io reconnects by itself after network
 * failures. The server also drops a socket whose credentials stopped being valid (logout, expiry, new role):
 * socket.io never reconnects after such a server-side disconnect, so we do, a moment later, with the
 * browser's current cookies — a refreshed session resumes, a logged-out one is refused at the handshake.
 */
export function createSolarisSocket(
  opts: { url?: string; path?: string; reconnectAfterServerDisconnectMs?: number; /** Node callers (tests, tools): credentials. */ extraHeaders?: Record<string, string> } = {},
): SolarisSocket {
  const options = { path: opts.path ?? SOCKET_PATH, withCredentials: true, autoConnect: true, reconnectionDelayMax: 10_000, extraHeaders: opts.extraHeaders };
  const socket = opts.url ? io(opts.url, options) : io(options);
  socket.on('disconnect', (reason) => {
    if (reason !== 'io server disconnect') return;
    const base = opts.reconnectAfterServerDisconnectMs ?? 2_000;
    setTimeout(() => socket.connect(), base + Math.random() * base);
  });
  return socket as unknown as SolarisSocket;
}
