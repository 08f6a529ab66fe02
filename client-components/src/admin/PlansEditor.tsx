import { useState, type FormEvent } from 'react';
import type { PeriodKind, PlanDTO } from '@solaris/wire';
import { usePlans, useSavePlan } from '../hooks';
import { useSolaris } from '../provider';
import { ErrorNote } from '../components/ui';
import { useConfirmedAction } from './ConfirmDialog';
import { formatModelWeights, parseModelWeights } from './model-weights';

/** One hint for every plan's weights box (each textarea points to it), instead of the same text per plan. */
const WEIGHTS_HINT_ID = 'sol-plan-weights-hint';

const EMPTY: PlanDTO = { id: '', name: '', tokenLimit: 0, period: 'month', isDefault: false, modelWeights: {} };

function PlanForm({ plan, isNew, onAsk }: { plan: PlanDTO; isNew: boolean; onAsk(p: PlanDTO, isNew: boolean): void }) {
  const { t, locale } = useSolaris();
  const [draft, setDraft] = useState(plan);
  const [limit, setLimit] = useState(String(plan.tokenLimit || ''));
  const [weights, setWeights] = useState(() => formatModelWeights(plan.modelWeights ?? {}, locale));
  const [weightsError, setWeightsError] = useState<string | null>(null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const parsed = parseModelWeights(weights);
    if (!parsed.ok) {
      setWeightsError(t.planWeightsInvalid(parsed.line));
      return;
    }
    setWeightsError(null);
    onAsk({ ...draft, id: draft.id.trim(), name: draft.name.trim(), tokenLimit: Number(limit), modelWeights: parsed.weights }, isNew);
  };
  const weightsId = `sol-plan-weights-${isNew ? 'new' : plan.id}`;
  const label = isNew ? t.newPlan : `${t.colPlan} ${plan.name}`;
  return (
    <form className="sol-plan" onSubmit={submit} aria-label={label} data-testid={isNew ? 'solaris-plan-new' : `solaris-plan-${plan.id}`}>
      <label>
        {t.planId}
        <input value={draft.id} readOnly={!isNew} required pattern="[a-z0-9][a-z0-9_\-]{0,63}" onChange={(e) => setDraft({ ...draft, id: e.target.value })} />
      </label>
      <label>
        {t.planName}
        <input value={draft.name} required onChange={(e) => setDraft({ ...draft, name: e.target.value })} />
      </label>
      <label>
        {t.planLimit}
        <input inputMode="numeric" required pattern="\d+" value={limit} onChange={(e) => setLimit(e.target.value)} />
      </label>
      <label>
        {t.planPeriod}
        <select value={draft.period} onChange={(e) => setDraft({ ...draft, period: e.target.value as PeriodKind })}>
          <option value="month">{t.periodMonth}</option>
          <option value="week">{t.periodWeek}</option>
          <option value="day">{t.periodDay}</option>
        </select>
      </label>
      <div className="sol-plan-weights">
        <label>
          {t.planWeights}
          <textarea
          value={weights}
          rows={Math.min(6, Math.max(2, weights.split('\n').length))}
          placeholder={t.planWeightsEmpty}
          spellCheck={false}
          aria-describedby={WEIGHTS_HINT_ID}
          aria-invalid={weightsError ? true : undefined}
          aria-errormessage={weightsError ? `${weightsId}-error` : undefined}
          onChange={(e) => setWeights(e.target.value)}
          />
        </label>
        {weightsError && (
          <small id={`${weightsId}-error`} role="alert" className="sol-field-error">
            {weightsError}
          </small>
        )}
      </div>
      <label className="sol-check">
        <input type="checkbox" checked={draft.isDefault} onChange={(e) => setDraft({ ...draft, isDefault: e.target.checked })} />
        {t.planDefault}
      </label>
      <button type="submit" className="sol-btn sol-btn-primary">
        {isNew ? t.newPlan : t.save}
      </button>
    </form>
  );
}

export function PlansEditor() {
  const { t } = useSolaris();
  const plans = usePlans();
  const save = useSavePlan();
  const confirmed = useConfirmedAction();
  const [newKey, setNewKey] = useState(0);
  const ask = (plan: PlanDTO, isNew: boolean) =>
    confirmed.ask(t.confirmPlanSave(plan.name || plan.id), async () => {
      await save.mutateAsync({ plan, isNew });
      if (isNew) setNewKey((k) => k + 1);
    });
  return (
    <div className="sol-plans">
      <p id={WEIGHTS_HINT_ID} className="sol-muted">
        {t.planWeightsHint}
      </p>
      {plans.isError && <ErrorNote error={plans.error} onRetry={() => void plans.refetch()} />}
      {confirmed.notes}
      {(plans.data ?? []).map((p) => (
        <PlanForm key={`${p.id}:${p.tokenLimit}:${p.name}:${p.period}:${p.isDefault}:${JSON.stringify(p.modelWeights ?? {})}`} plan={p} isNew={false} onAsk={ask} />
      ))}
      <h4>{t.newPlan}</h4>
      <PlanForm key={`new-${newKey}`} plan={EMPTY} isNew onAsk={ask} />
      {confirmed.dialog}
    </div>
  );
}
