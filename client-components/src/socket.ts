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

/** Real socket: same origin, our path, cookies on the handshake; socket.io reconnects by itself. */
export function createSolarisSocket(opts: { url?: string; path?: string } = {}): SolarisSocket {
  const options = { path: opts.path ?? SOCKET_PATH, withCredentials: true, autoConnect: true, reconnectionDelayMax: 10_000 };
  return (opts.url ? io(opts.url, options) : io(options)) as unknown as SolarisSocket;
}
