import { useState, type FormEvent } from 'react';
import type { PlanDTO } from '@solaris/wire';
import { usePlans } from '../hooks';
import { useRemoveRolePlan, useRolePlans, useSetAutoApprove, useSetRolePlan } from '../role-plan-hooks';
import { useSolaris } from '../provider';
import { ErrorNote, positiveInt } from '../components/ui';
import { useConfirmedAction } from './ConfirmDialog';
import { planLabel } from './plan-label';

/** Shared by both editors: ask → confirm → run; errors and "saved" shown in place. */
function useConfirmed() {
  const { ask, fail, notes, dialog } = useConfirmedAction();
  const view = (
    <>
      {notes}
      {dialog}
    </>
  );
  return { ask, fail, view };
}

const planName = (plans: PlanDTO[] | undefined, id: string) => plans?.find((p) => p.id === id)?.name ?? id;

/** Default plan per LibreChat role (USER, ADMIN, custom roles). */
export function RolePlansEditor() {
  const { t, fmt } = useSolaris();
  const roles = useRolePlans();
  const plans = usePlans();
  const setRole = useSetRolePlan();
  const remove = useRemoveRolePlan();
  const { ask, view } = useConfirmed();
  const [role, setRoleName] = useState('');
  const [planId, setPlanId] = useState('');

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const r = role.trim();
    const p = planId || plans.data?.[0]?.id || '';
    if (!r || !p) return;
    ask(t.confirmRolePlan(r, planName(plans.data, p)), () =>
      setRole.mutateAsync({ role: r, planId: p }).then(() => {
        setRoleName('');
      }),
    );
  };
  const planOptions = (plans.data ?? []).map((p) => (
    <option key={p.id} value={p.id}>
      {planLabel(p, t, fmt)}
    </option>
  ));

  return (
    <section className="sol-card" aria-labelledby="sol-roleplans-h" data-testid="solaris-role-plans">
      <h3 id="sol-roleplans-h">{t.rolePlansTitle}</h3>
      <p className="sol-muted sol-small">{t.rolePlansIntro}</p>
      {roles.isError && <ErrorNote error={roles.error} onRetry={() => void roles.refetch()} />}
      {view}
      {roles.isSuccess && roles.data.length === 0 && <p className="sol-muted">{t.noRolePlans}</p>}
      {(roles.data ?? []).length > 0 && (
        <table className="sol-table">
          <thead>
            <tr>
              <th scope="col">{t.colRole}</th>
              <th scope="col">{t.colPlan}</th>
              <th scope="col">
                <span className="sol-sr-only">{t.rolePlanRemove}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {(roles.data ?? []).map((rp) => (
              <tr key={rp.role}>
                <td>
                  <code>{rp.role}</code>
                </td>
                <td>{planName(plans.data, rp.planId)}</td>
                <td>
                  <button
                    type="button"
                    className="sol-btn sol-btn-small sol-btn-danger"
                    aria-label={`${t.rolePlanRemove}: ${rp.role}`}
                    onClick={() => ask(t.confirmRemoveRolePlan(rp.role), () => remove.mutateAsync(rp.role))}
                  >
                    {t.rolePlanRemove}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form className="sol-row" onSubmit={submit} aria-label={t.rolePlansTitle}>
        <label>
          {t.colRole}
          <input value={role} required maxLength={100} placeholder="USER" onChange={(e) => setRoleName(e.target.value)} data-testid="solaris-role-input" />
        </label>
        <label>
          {t.colPlan}
          <select value={planId || plans.data?.[0]?.id || ''} onChange={(e) => setPlanId(e.target.value)} data-testid="solaris-role-plan">
            {planOptions}
          </select>
        </label>
        <button type="submit" className="sol-btn sol-btn-primary">
          {t.rolePlanSet}
        </button>
      </form>
    </section>
  );
}

/** Per plan: requests up to N tokens are approved at once (once per user and period); empty = off. */
export function AutoApproveEditor() {
  const { t, fmt } = useSolaris();
  const plans = usePlans();
  const save = useSetAutoApprove();
  const { ask, fail, view } = useConfirmed();
  const [drafts, setDrafts] = useState<Record<string, string>>({});

  const submit = (e: FormEvent, plan: PlanDTO) => {
    e.preventDefault();
    const raw = (drafts[plan.id] ?? '').trim();
    const tokens = raw === '' ? null : positiveInt(raw);
    if (raw !== '' && tokens === null) return fail(new Error(t.invalidNumber));
    ask(tokens === null ? t.confirmAutoApproveOff(plan.name) : t.confirmAutoApprove(plan.name, fmt.number(tokens)), () =>
      save.mutateAsync({ planId: plan.id, tokens }),
    );
  };

  return (
    <section className="sol-card" aria-labelledby="sol-auto-h" data-testid="solaris-auto-approve">
      <h3 id="sol-auto-h">{t.autoApproveTitle}</h3>
      <p className="sol-muted sol-small">{t.autoApproveIntro}</p>
      {view}
      {(plans.data ?? []).map((p) => {
        // Shown when the server includes it in PlanDTO (optional field); otherwise the field starts empty.
        const current = (p as PlanDTO & { autoApproveTokens?: number | null }).autoApproveTokens;
        return (
          <form key={p.id} className="sol-auto-row" onSubmit={(e) => submit(e, p)} aria-label={`${t.autoApproveTitle}: ${p.name}`}>
            <label>
              {t.autoApproveTokens(p.name)}
              <input
                inputMode="numeric"
                value={drafts[p.id] ?? (current != null ? String(current) : '')}
                placeholder={t.autoApproveOff}
                onChange={(e) => setDrafts({ ...drafts, [p.id]: e.target.value })}
                data-testid={`solaris-auto-${p.id}`}
              />
            </label>
            <button type="submit" className="sol-btn">
              {t.save}
            </button>
          </form>
        );
      })}
    </section>
  );
}
