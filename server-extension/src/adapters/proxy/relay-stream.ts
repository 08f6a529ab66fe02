import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Logger } from '../../core/logger';
import type { Metered } from './context';
import { settledOrTimeout, type Settlement } from './settlement';
import { SseMeter } from './sse-meter';

export interface RelayDeps {
  settlement: Settlement;
  trackActive(p: Promise<void>): void;
  writesLedger: boolean;
  logger?: Logger;
}

export interface RelayStream {
  res: ServerResponse;
  body: Readable;
  m: Metered;
  clientAskedUsage: boolean;
  clientGone: () => boolean;
  headers: Record<string, string>;
}

/** SSE pass-through with backpressure; settles on end, on client abort and on mid-stream failure. */
export function relayStream(d: RelayDeps, { res, body, m, clientAskedUsage, clientGone, headers }: RelayStream): void {
  // The usage chunk we asked for is cut out for a client that did not ask, unless another source meters from
  // what the client records: LibreChat's transactions (source librechat) then carry the upstream's exact usage
  // instead of LibreChat's own estimate (LangChain reads `usage` from any chunk; docs/librechat-integration.md).
  const meter = new SseMeter(!clientAskedUsage && d.writesLedger);
  res.writeHead(200, { ...headers, 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
  let done = false;
  let waitingDrain = false;
  const resume = () => {
    waitingDrain = false;
    body.resume();
  };
  // `data: [DONE]` (the last event) is held back until the settlement is durable: see settledOrTimeout.
  let held: Buffer | null = null;
  let relayEnded!: () => void;
  d.trackActive(new Promise<void>((r) => (relayEnded = r)));
  const finish = (how: 'complete' | 'client_abort' | 'upstream_error'): Promise<void> => {
    if (done) return Promise.resolve();
    done = true;
    relayEnded(); // resolves after this tick: the release / settlement below is in `pending` by then
    if (how === 'upstream_error' && !meter.usage && meter.generatedText() === '') {
      d.settlement.releaseLater(m); // failed before producing anything: charge nothing
      return Promise.resolve();
    }
    // Usage, when it arrived, is final; otherwise the text produced so far is counted (estimated).
    return d.settlement.settleLater(m, meter.usage, () => meter.generatedText(), null);
  };
  body.on('data', (chunk: Buffer) => {
    let out = meter.process(chunk);
    const doneAt = out ? out.indexOf('data: [DONE]') : -1;
    if (out && doneAt !== -1) {
      held = held ? Buffer.concat([held, out.subarray(doneAt)]) : out.subarray(doneAt);
      out = doneAt > 0 ? out.subarray(0, doneAt) : null;
    }
    if (out && !res.write(out) && !waitingDrain) {
      waitingDrain = true;
      body.pause();
      res.once('drain', resume);
    }
  });
  body.on('end', () => {
    const rest = meter.flush();
    const tail = held && rest ? Buffer.concat([held, rest]) : (held ?? rest);
    void settledOrTimeout(finish('complete')).then(() => {
      if (res.destroyed) return;
      if (tail) res.write(tail);
      res.end();
    });
  });
  body.on('error', (e: unknown) => {
    meter.flush();
    if (clientGone()) {
      void finish('client_abort');
      return;
    }
    d.logger?.warn('upstream stream failed mid-answer', { requestId: m.requestId, err: e });
    // An error event the openai client raises as APIError, then a clean end of the SSE response.
    const err = { error: { message: 'O serviço de modelos interrompeu a resposta.', type: 'api_error', code: 'upstream_error' } };
    if (!res.writableEnded && !res.destroyed) res.end(`data: ${JSON.stringify(err)}\n\n`);
    void finish('upstream_error');
  });
}
