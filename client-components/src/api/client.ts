import { API_PREFIX, type ApiErrorDTO, type ErrorCode } from '@solaris/wire';

/** A failed call to our REST API: HTTP status + machine code + human message (from ApiErrorDTO). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode | 'network_error' | 'bad_response',
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export type QueryParams = Record<string, string | number | boolean | null | undefined>;
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface ApiClient {
  readonly base: string;
  /** Absolute-path URL of a route, `:params` filled, empty query values dropped. */
  url(route: string, params?: Record<string, string>, query?: QueryParams): string;
  get<T>(route: string, params?: Record<string, string>, query?: QueryParams): Promise<T>;
  send<T>(method: 'POST' | 'PUT' | 'DELETE', route: string, params: Record<string, string>, body?: unknown): Promise<T>;
}

function isApiErrorBody(v: unknown): v is ApiErrorDTO {
  return typeof v === 'object' && v !== null && typeof (v as ApiErrorDTO).error === 'object' && typeof (v as ApiErrorDTO).error?.code === 'string';
}

/**
 * Same-origin client: the browser sends LibreChat's cookie with `credentials: 'same-origin'`,
 * which is how the server knows the user. It never touches LibreChat's own auth routes.
 */
export function createApiClient(opts: { base?: string; fetch?: FetchLike } = {}): ApiClient {
  const base = opts.base ?? API_PREFIX;
  const doFetch: FetchLike = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));

  const url = (route: string, params: Record<string, string> = {}, query: QueryParams = {}): string => {
    const path = route.replace(/:([A-Za-z]+)/g, (_m, k: string) => encodeURIComponent(params[k] ?? ''));
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') qs.set(k, String(v));
    const s = qs.toString();
    return `${base}${path}${s ? `?${s}` : ''}`;
  };

  async function call<T>(method: string, target: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await doFetch(target, {
        method,
        credentials: 'same-origin',
        headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError(0, 'network_error', err instanceof Error ? err.message : String(err));
    }
    const text = await res.text();
    let json: unknown = undefined;
    if (text) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    if (!res.ok) {
      if (isApiErrorBody(json)) throw new ApiError(res.status, json.error.code, json.error.message, json.error.details);
      throw new ApiError(res.status, res.status === 401 ? 'unauthorized' : 'internal_error', `HTTP ${res.status}`);
    }
    if (json === undefined && text) throw new ApiError(res.status, 'bad_response', 'Resposta inválida do servidor');
    return json as T;
  }

  return {
    base,
    url,
    get: (route, params, query) => call('GET', url(route, params, query)),
    send: (method, route, params, body) => call(method, url(route, params), body),
  };
}
