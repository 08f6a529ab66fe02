// A socket.io test client that records every event it receives (tests of the REST/socket side).
import { io as connect, type Socket } from 'socket.io-client';
import { SOCKET_PATH, type ServerToClientEvents } from '@solaris/wire';

export type Client = Socket<ServerToClientEvents> & { got: Array<[string, unknown]> };

/** Connects to `url`'s socket.io (our path), records events in `got`, adds the client to `into` (closed by the test). */
export function openSocket(
  into: Client[],
  url: string,
  headers: Record<string, string>,
  transports: Array<'polling' | 'websocket'> = ['polling', 'websocket'],
  timeout?: number,
): Promise<Client> {
  const s = connect(url, { path: SOCKET_PATH, extraHeaders: headers, transports, reconnection: false, forceNew: true, ...(timeout ? { timeout } : {}) }) as Client;
  s.got = [];
  s.onAny((event: string, payload: unknown) => s.got.push([event, payload]));
  into.push(s);
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('connect_error', (e) => reject(e));
  });
}

/** The payloads of every `name` event a client received, oldest first. */
export const events = (c: Client, name: string) => c.got.filter(([e]) => e === name).map(([, p]) => p);
