import type { Response } from 'express';
import type { StatementPageDTO, StatementQuery } from '@solaris/wire';
import type { QuotaEngine } from '../../core/engine';
import { CSV_BOM, CSV_HEADER, CSV_SEPARATOR, csvRow } from './csv';

const CSV_PAGE = 200;

/** The name a download is saved under: the filter's period, else today (engine clock). */
export function csvLabel(engine: QuotaEngine, q: StatementQuery): string {
  return q.period ?? new Date(engine.clock()).toISOString().slice(0, 10);
}

/**
 * Streams one user's statement as CSV, page by page, waiting for the socket to drain and stopping when the
 * client goes away.
 */
export async function streamStatementCsv(
  res: Response,
  opts: { engine: QuotaEngine; userId: string; query: StatementQuery; label: string; formatDate: (iso: string) => string },
): Promise<void> {
  const { engine, userId, query: q, formatDate } = opts;
  // The first page is read before any byte is sent, so a bad filter still answers a JSON error.
  let page: StatementPageDTO = await engine.statement(userId, { ...q, limit: CSV_PAGE });
  let closed = false;
  res.on('close', () => {
    closed = true;
  });
  res.status(200);
  res.setHeader('Content-Type', 'text/csv; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename="extrato-${opts.label.replace(/[^A-Za-z0-9_-]/g, '_')}.csv"`);
  res.write(CSV_BOM + CSV_HEADER.join(CSV_SEPARATOR) + '\r\n');
  for (;;) {
    const chunk = page.items.map((e) => csvRow(e, formatDate) + '\r\n').join('');
    if (chunk && !res.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
    if (closed || !page.nextCursor) break;
    page = await engine.statement(userId, { ...q, limit: CSV_PAGE, cursor: page.nextCursor });
  }
  res.end();
}
