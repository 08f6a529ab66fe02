import { useId, useState, type FormEvent } from 'react';
import { useAdminUser, useAssignPlan, useGrantTokens, useOverrideLimit, usePlans, useResetUsage } from '../hooks';
import { useSolaris } from '../provider';
import { ErrorNote, StateBadge, UsageBar } from '../components/ui';
import { StatementPanel } from '../components/StatementPanel';
import { useConfirmedAction } from './ConfirmDialog';
import { planLabel } from './plan-label';

const positiveInt = (s: string): number | null => (/^\d+$/.test(s.trim()) && Number(s) > 0 ? Number(s) : null);

/** One user: balance, grant / override / reset / plan (each confirmed), and their statement. */
export function UserDetail({ userId, onBack }: { userId: string; onBack(): void }) {
  const { t, fmt } = useSolaris();
  const user = useAdminUser(userId);
  const plans = usePlans();
  const grant = useGrantTokens(userId);
  const override = useOverrideLimit(userId);
  const reset = useResetUsage(userId);
  const assign = useAssignPlan(userId);

  const [tokens, setTokens] = useState('');
  const [grantReason, setGrantReason] = useState('');
  const [limit, setLimit] = useState('');
  const [resetReason, setResetReason] = useState('');
  const [planId, setPlanId] = useState('');
  const { ask, fail, notes, dialog } = useConfirmedAction();
  const hintId = useId();

  const u = user.data;
  const who = u?.email ?? u?.name ?? userId;
  // The plan in effect (the balance's): the one assigned, else the role's or the default plan.
  const effectiveId = u?.balance.planId ?? u?.planId ?? plans.data?.find((p) => p.isDefault)?.id ?? null;
  const effective = plans.data?.find((p) => p.id === effectiveId);
  const invalid = () => fail(new Error(t.invalidNumber));

  const onGrant = (e: FormEvent) => {
    e.preventDefault();
    const n = positiveInt(tokens);
    if (n === null) return invalid();
    ask(t.confirmGrant(fmt.number(n), who), () =>
      grant.mutateAsync({ tokens: n, reason: grantReason.trim() || null }).then(() => {
        setTokens('');
        setGrantReason('');
      }),
    );
  };
  const onOverride = (e: FormEvent) => {
    e.preventDefault();
    const raw = limit.trim();
    const n = raw === '' ? null : /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (Number.isNaN(n)) return invalid();
    ask(t.confirmOverride(n === null ? t.none : fmt.number(n), who), () => override.mutateAsync({ limit: n }).then(() => setLimit('')));
  };
  const onReset = (e: FormEvent) => {
    e.preventDefault();
    ask(t.confirmReset(who), () => reset.mutateAsync({ reason: resetReason.trim() || null }).then(() => setResetReason('')));
  };
  const onPlan = (e: FormEvent) => {
    e.preventDefault();
    const chosen = planId || effectiveId || '';
    if (!chosen) return;
    const name = plans.data?.find((p) => p.id === chosen)?.name ?? chosen;
    ask(t.confirmPlan(name, who), () => assign.mutateAsync({ planId: chosen }).then(() => setPlanId('')));
  };

  return (
    <div className="sol-user-detail" data-testid="solaris-user-detail">
      <button type="button" className="sol-btn sol-btn-small" onClick={onBack}>
        <span aria-hidden="true">← </span>
        {t.back}
      </button>
      {user.isError && <ErrorNote error={user.error} onRetry={() => void user.refetch()} />}
      {u && (
        <>
          <h3 className="sol-h3">
            {who} <StateBadge state={u.balance.state} />
          </h3>
          <div className="sol-detail-bar">
            <UsageBar percent={u.balance.percent} state={u.balance.state} label={`${who}: ${fmt.percent(u.balance.percent)}`} />
          </div>
          <dl className="sol-totals">
            <div>
              <dt>{t.colPlan}</dt>
              <dd>
                <span data-testid="solaris-user-plan">{effective?.name ?? effectiveId ?? '—'}</span>
                {u.planId === null && effective?.isDefault && <span className="sol-tag">{t.planDefaultTag}</span>}
              </dd>
            </div>
            <div>
              <dt>{t.limit}</dt>
              <dd>
                {fmt.number(u.balance.limit)}
                {u.limitOverride !== null && <span className="sol-tag">{t.override}</span>}
              </dd>
            </div>
            <div>
              <dt>{t.granted}</dt>
              <dd>{fmt.number(u.balance.granted)}</dd>
            </div>
            <div>
              <dt>{t.used}</dt>
              <dd>
                {fmt.number(u.balance.used)} ({fmt.percent(u.balance.percent)})
              </dd>
            </div>
            <div>
              <dt>{t.reserved}</dt>
              <dd>{fmt.number(u.balance.reserved)}</dd>
            </div>
            <div>
              <dt>{t.remaining}</dt>
              <dd data-testid="solaris-user-remaining">{fmt.number(u.balance.remaining)}</dd>
            </div>
          </dl>
          <p className="sol-muted">{t.resetsAt(fmt.resetDate(u.balance))}</p>
        </>
      )}
      {notes}
      <div className="sol-forms">
        <form onSubmit={onGrant} aria-label={t.grantTitle}>
          <h4>{t.grantTitle}</h4>
          <label>
            {t.grantTokens}
            <input inputMode="numeric" value={tokens} onChange={(e) => setTokens(e.target.value)} required data-testid="solaris-grant-tokens" />
          </label>
          <label>
            {t.reason}
            <input value={grantReason} onChange={(e) => setGrantReason(e.target.value)} maxLength={500} data-testid="solaris-grant-reason" />
          </label>
          <button type="submit" className="sol-btn sol-btn-primary">
            {t.grantAction}
          </button>
        </form>
        <form onSubmit={onOverride} aria-label={t.overrideTitle}>
          <h4>{t.overrideTitle}</h4>
          <label>
            {t.limit}
            <input
              inputMode="numeric"
              value={limit}
              onChange={(e) => setLimit(e.target.value)}
              placeholder={u?.limitOverride == null ? t.none : fmt.number(u.limitOverride)}
              aria-describedby={hintId}
            />
          </label>
          <span id={hintId} className="sol-muted sol-small">
            {t.overrideHint}
          </span>
          <button type="submit" className="sol-btn">
            {t.overrideAction}
          </button>
        </form>
        <form onSubmit={onReset} aria-label={t.resetTitle}>
          <h4>{t.resetTitle}</h4>
          <label>
            {t.reason}
            <input value={resetReason} onChange={(e) => setResetReason(e.target.value)} maxLength={500} />
          </label>
          <button type="submit" className="sol-btn sol-btn-danger">
            {t.resetAction}
          </button>
        </form>
        <form onSubmit={onPlan} aria-label={t.planTitle}>
          <h4>{t.planTitle}</h4>
          <label>
            {t.colPlan}
            <select value={planId || effectiveId || ''} onChange={(e) => setPlanId(e.target.value)}>
              <option value="" disabled>
                —
              </option>
              {(plans.data ?? []).map((p) => (
                <option key={p.id} value={p.id}>
                  {planLabel(p, t, fmt)}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" className="sol-btn">
            {t.planAction}
          </button>
        </form>
      </div>
      <StatementPanel userId={userId} />
      {dialog}
    </div>
  );
}
