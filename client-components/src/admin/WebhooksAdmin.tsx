import { useState, type FormEvent } from 'react';
import { WEBHOOK_EVENT_TYPES, type WebhookEndpointCreatedDTO, type WebhookEndpointDTO, type WebhookEndpointInput, type WebhookEventType } from '@solaris/wire';
import { useCreateWebhook, useDeleteWebhook, useTestWebhook, useUpdateWebhook, useWebhookDeliveries, useWebhooks } from '../webhook-hooks';
import { useDeploymentTimeZone } from '../hooks';
import { useSolaris } from '../provider';
import { ErrorNote, Notice } from '../components/ui';
import { ConfirmDialog, type PendingAction } from './ConfirmDialog';

const EVENTS = WEBHOOK_EVENT_TYPES.filter((e) => e !== 'test');

function WebhookForm({ initial, onAsk, onCancel, testId }: { initial?: WebhookEndpointDTO; onAsk(v: WebhookEndpointInput): void; onCancel?(): void; testId: string }) {
  const { t } = useSolaris();
  const [name, setName] = useState(initial?.name ?? '');
  const [url, setUrl] = useState(initial?.url ?? '');
  const [events, setEvents] = useState<WebhookEventType[]>(initial?.events ?? []);
  const [format, setFormat] = useState<'json' | 'slack'>(initial?.format ?? 'json');
  const [active, setActive] = useState(initial?.active ?? true);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onAsk({ name: name.trim() || undefined, url: url.trim(), events, format, active });
  };
  const label = initial ? `${t.whEdit}: ${initial.name || initial.url}` : t.whNew;
  return (
    <form className="sol-card" onSubmit={submit} aria-label={label} data-testid={testId}>
      <h4>{label}</h4>
      <div className="sol-row">
        <label>
          {t.whName}
          <input value={name} maxLength={200} onChange={(e) => setName(e.target.value)} />
        </label>
        <label className="sol-grow">
          {t.whUrl}
          <input type="url" required value={url} placeholder="https://" onChange={(e) => setUrl(e.target.value)} />
        </label>
        <label>
          {t.whFormat}
          <select value={format} onChange={(e) => setFormat(e.target.value as 'json' | 'slack')}>
            <option value="json">{t.whFormatJson}</option>
            <option value="slack">{t.whFormatSlack}</option>
          </select>
        </label>
        <label className="sol-check">
          <input type="checkbox" checked={active} onChange={(e) => setActive(e.target.checked)} />
          {t.whActive}
        </label>
      </div>
      <fieldset className="sol-events">
        <legend>
          {t.whEvents} — {t.whEventsHint}
        </legend>
        {EVENTS.map((ev) => (
          <label key={ev} className="sol-check">
            <input type="checkbox" checked={events.includes(ev)} onChange={(e) => setEvents(e.target.checked ? [...events, ev] : events.filter((x) => x !== ev))} />
            <code>{ev}</code>
          </label>
        ))}
      </fieldset>
      <div className="sol-row">
        <button type="submit" className="sol-btn sol-btn-primary">
          {initial ? t.whSave : t.whCreate}
        </button>
        {onCancel && (
          <button type="button" className="sol-btn" onClick={onCancel}>
            {t.cancel}
          </button>
        )}
      </div>
    </form>
  );
}

/** The signing secret, once: after creation only, kept in this component's state and nowhere else. */
function SecretOnce({ created, onClose }: { created: WebhookEndpointCreatedDTO; onClose(): void }) {
  const { t } = useSolaris();
  const [copied, setCopied] = useState(false);
  return (
    <div className="sol-secret" role="status" data-testid="solaris-webhook-secret">
      <strong>
        <span aria-hidden="true">⚠ </span>
        {t.whSecretTitle} ({created.name || created.url}):
      </strong>
      <code>{created.secret}</code>
      <button
        type="button"
        className="sol-btn sol-btn-small"
        onClick={() => {
          void navigator.clipboard?.writeText(created.secret).then(
            () => setCopied(true),
            () => undefined,
          );
        }}
      >
        {copied ? t.whCopied : t.whCopy}
      </button>
      <span className="sol-small">{t.whSecretOnce}</span>
      <button type="button" className="sol-btn sol-btn-small" onClick={onClose}>
        {t.close}
      </button>
    </div>
  );
}

function Deliveries({ endpoints }: { endpoints: WebhookEndpointDTO[] }) {
  const { t, fmt } = useSolaris();
  const [endpointId, setEndpointId] = useState('');
  const q = useWebhookDeliveries(endpointId);
  // Times in the deployment's zone (see useDeploymentTimeZone), named once in the column header.
  const timeZone = useDeploymentTimeZone();
  const nameOf = (id: string) => {
    const e = endpoints.find((x) => x.id === id);
    return e ? e.name || e.url : id;
  };
  return (
    <section aria-labelledby="sol-deliveries-h">
      <h3 className="sol-h3" id="sol-deliveries-h">
        {t.whDeliveries}
      </h3>
      <div className="sol-filters">
        <label>
          {t.colEndpoint}
          <select value={endpointId} onChange={(e) => setEndpointId(e.target.value)}>
            <option value="">{t.whAllEndpoints}</option>
            {endpoints.map((e) => (
              <option key={e.id} value={e.id}>
                {e.name || e.url}
              </option>
            ))}
          </select>
        </label>
        <button type="button" className="sol-btn" onClick={() => void q.refetch()} disabled={q.isFetching}>
          <span aria-hidden="true">↻ </span>
          {t.refresh}
        </button>
      </div>
      {q.isError && <ErrorNote error={q.error} onRetry={() => void q.refetch()} />}
      {q.isSuccess && q.data.length === 0 && <p className="sol-empty">{t.noDeliveries}</p>}
      {(q.data ?? []).length > 0 && (
        <div className="sol-table-wrap">
          <table className="sol-table sol-cards-narrow" data-testid="solaris-deliveries-table">
            <thead>
              <tr>
                <th scope="col">{fmt.zoneLabel(t.colWhen, timeZone)}</th>
                <th scope="col">{t.colEndpoint}</th>
                <th scope="col">{t.colEvent}</th>
                <th scope="col" className="sol-num">{t.colAttempt}</th>
                <th scope="col">{t.colResult}</th>
                <th scope="col" className="sol-num">{t.colDuration}</th>
              </tr>
            </thead>
            <tbody>
              {(q.data ?? []).map((d) => (
                <tr key={d.id}>
                  <td className="sol-card-title" data-label={fmt.zoneLabel(t.colWhen, timeZone)}>{fmt.dateTime(d.createdAt, timeZone)}</td>
                  <td data-label={t.colEndpoint}>{nameOf(d.endpointId)}</td>
                  <td data-label={t.colEvent}>
                    <code>{d.eventType}</code>
                  </td>
                  <td className="sol-num" data-label={t.colAttempt}>{d.attempt}</td>
                  <td data-label={t.colResult}>
                    <span className="sol-status" data-status={d.ok ? 'approved' : 'denied'}>
                      <span aria-hidden="true">{d.ok ? '✓ ' : '✕ '}</span>
                      {d.ok ? t.whOk : t.whFailed}
                      {d.statusCode !== null && ` · HTTP ${d.statusCode}`}
                    </span>
                    {d.error && <div className="sol-small sol-muted">{d.error}</div>}
                  </td>
                  <td className="sol-num" data-label={t.colDuration}>{fmt.number(d.durationMs)} ms</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** Webhooks: endpoints (create → secret shown once, edit, delete, test event) and the delivery log. */
export function WebhooksAdmin() {
  const { t } = useSolaris();
  const hooks = useWebhooks();
  const create = useCreateWebhook();
  const update = useUpdateWebhook();
  const del = useDeleteWebhook();
  const test = useTestWebhook();
  const [pending, setPending] = useState<PendingAction | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [created, setCreated] = useState<WebhookEndpointCreatedDTO | null>(null);
  const [editing, setEditing] = useState<string | null>(null);
  const [formKey, setFormKey] = useState(0);
  const endpoints = hooks.data ?? [];

  const ask = (message: string, run: () => Promise<unknown>, done?: string) => {
    setError(null);
    setNotice(null);
    setPending({
      message,
      run: async () => {
        await run();
        if (done) setNotice(done);
      },
    });
  };
  const label = (e: WebhookEndpointDTO) => e.name || e.url;

  return (
    <div className="sol-webhooks">
      <p className="sol-muted">{t.webhooksIntro}</p>
      {hooks.isError && <ErrorNote error={hooks.error} onRetry={() => void hooks.refetch()} />}
      {error !== null && <ErrorNote error={error} />}
      {notice && <Notice>{notice}</Notice>}
      {created && <SecretOnce created={created} onClose={() => setCreated(null)} />}
      {hooks.isSuccess && endpoints.length === 0 && <p className="sol-empty">{t.noWebhooks}</p>}
      {endpoints.length > 0 && (
        <div className="sol-table-wrap">
          <table className="sol-table sol-cards-narrow" data-testid="solaris-webhooks-table">
            <thead>
              <tr>
                <th scope="col">{t.whName}</th>
                <th scope="col">{t.whUrl}</th>
                <th scope="col">{t.whEvents}</th>
                <th scope="col">{t.whFormat}</th>
                <th scope="col">{t.colState}</th>
                <th scope="col">
                  <span className="sol-sr-only">{t.colDecision}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {endpoints.map((e) => (
                <tr key={e.id} data-testid="solaris-webhook-row">
                  <td className="sol-card-title" data-label={t.whName}>
                    {e.name || '—'}
                    {e.source === 'env' && <span className="sol-tag">{t.whSourceEnv}</span>}
                  </td>
                  <td data-label={t.whUrl}>
                    <code>{e.url}</code>
                  </td>
                  <td className="sol-small" data-label={t.whEvents}>{e.events.length ? e.events.join(', ') : t.whAllEvents}</td>
                  <td data-label={t.whFormat}>{e.format === 'slack' ? t.whFormatSlack : t.whFormatJson}</td>
                  <td data-label={t.colState}>
                    <span className="sol-status" data-status={e.active ? 'approved' : 'cancelled'}>
                      <span aria-hidden="true">{e.active ? '● ' : '○ '}</span>
                      {e.active ? t.whActive : t.whInactive}
                    </span>
                  </td>
                  <td data-label="">
                    <span className="sol-row">
                      <button
                        type="button"
                        className="sol-btn sol-btn-small"
                        aria-label={`${t.whTest}: ${label(e)}`}
                        onClick={() =>
                          ask(t.confirmWhTest(label(e)), async () => {
                            const r = await test.mutateAsync(e.id);
                            setNotice(t.whTestQueued(r.eventId));
                          })
                        }
                      >
                        {t.whTest}
                      </button>
                      {e.source === 'admin' && (
                        <>
                          <button type="button" className="sol-btn sol-btn-small" aria-label={`${t.whEdit}: ${label(e)}`} onClick={() => setEditing(editing === e.id ? null : e.id)}>
                            {t.whEdit}
                          </button>
                          <button
                            type="button"
                            className="sol-btn sol-btn-small sol-btn-danger"
                            aria-label={`${t.whDelete}: ${label(e)}`}
                            onClick={() => ask(t.confirmWhDelete(label(e)), () => del.mutateAsync(e.id), t.saved)}
                          >
                            {t.whDelete}
                          </button>
                        </>
                      )}
                    </span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {editing &&
        (() => {
          const e = endpoints.find((x) => x.id === editing);
          return e ? (
            <WebhookForm
              key={`edit-${e.id}`}
              initial={e}
              testId="solaris-webhook-edit"
              onCancel={() => setEditing(null)}
              onAsk={(v) =>
                ask(
                  t.confirmWhUpdate(label(e)),
                  async () => {
                    await update.mutateAsync({ id: e.id, patch: v });
                    setEditing(null);
                  },
                  t.saved,
                )
              }
            />
          ) : null;
        })()}
      <WebhookForm
        key={`new-${formKey}`}
        testId="solaris-webhook-new"
        onAsk={(v) =>
          ask(t.confirmWhCreate(v.url), async () => {
            setCreated(await create.mutateAsync(v));
            setFormKey((k) => k + 1);
          })
        }
      />
      <Deliveries endpoints={endpoints} />
      <ConfirmDialog
        pending={pending}
        onDone={(r) => {
          setPending(null);
          if (!r.ok && r.error) setError(r.error);
        }}
      />
    </div>
  );
}
