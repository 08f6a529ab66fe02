import { useRef, useState, type KeyboardEvent } from 'react';
import { useSolaris, useSolarisStore } from '../provider';
import { SolDialog } from '../components/ui';
import { UsersTable } from './UsersTable';
import { UserDetail } from './UserDetail';
import { PlansEditor } from './PlansEditor';
import { AuditLog } from './AuditLog';
import { LiveFeed, UsageCharts } from './UsageCharts';
import { PendingBadge, QuotaRequestsAdmin, usePendingRequests } from './QuotaRequestsAdmin';
import { AutoApproveEditor, RolePlansEditor } from './RolePlansEditor';
import { WebhooksAdmin } from './WebhooksAdmin';

type Tab = 'users' | 'requests' | 'plans' | 'webhooks' | 'audit' | 'usage' | 'live';
const TABS: Tab[] = ['users', 'requests', 'plans', 'webhooks', 'audit', 'usage', 'live'];

/** Admin area: tabs with roving focus (arrow keys, Home/End), users → detail, plans, audit, charts, live feed. */
export function AdminTab() {
  const { t } = useSolaris();
  const [tab, setTab] = useState<Tab>('users');
  const [selected, setSelected] = useState<string | null>(null);
  const refs = useRef<Record<string, HTMLButtonElement | null>>({});
  const pendingRequests = usePendingRequests();
  const label: Record<Tab, string> = {
    users: t.tabUsers,
    requests: t.tabRequests,
    plans: t.tabPlans,
    webhooks: t.tabWebhooks,
    audit: t.tabAudit,
    usage: t.tabUsage,
    live: t.tabLive,
  };
  const onKey = (e: KeyboardEvent) => {
    const i = TABS.indexOf(tab);
    const next = e.key === 'ArrowRight' ? TABS[(i + 1) % TABS.length] : e.key === 'ArrowLeft' ? TABS[(i + TABS.length - 1) % TABS.length] : e.key === 'Home' ? TABS[0] : e.key === 'End' ? TABS[TABS.length - 1] : undefined;
    if (!next) return;
    e.preventDefault();
    setTab(next);
    refs.current[next]?.focus();
  };
  return (
    <div className="sol-admin" data-testid="solaris-admin">
      <div role="tablist" aria-label={t.adminTitle} className="sol-tabs" onKeyDown={onKey}>
        {TABS.map((k) => (
          <button
            key={k}
            ref={(el) => {
              refs.current[k] = el;
            }}
            type="button"
            role="tab"
            id={`sol-tab-${k}`}
            aria-selected={tab === k}
            aria-controls={`sol-panel-${k}`}
            tabIndex={tab === k ? 0 : -1}
            aria-label={k === 'requests' && pendingRequests ? `${label[k]} (${t.pendingCount(pendingRequests)})` : undefined}
            className="sol-tab"
            onClick={() => setTab(k)}
          >
            {label[k]}
            {k === 'requests' && <PendingBadge count={pendingRequests} />}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`sol-panel-${tab}`} aria-labelledby={`sol-tab-${tab}`} className="sol-tabpanel">
        {tab === 'users' && (selected ? <UserDetail userId={selected} onBack={() => setSelected(null)} /> : <UsersTable onSelect={setSelected} />)}
        {tab === 'requests' && <QuotaRequestsAdmin />}
        {tab === 'plans' && (
          <>
            <PlansEditor />
            <div className="sol-cards">
              <RolePlansEditor />
              <AutoApproveEditor />
            </div>
          </>
        )}
        {tab === 'webhooks' && <WebhooksAdmin />}
        {tab === 'audit' && <AuditLog />}
        {tab === 'usage' && <UsageCharts />}
        {tab === 'live' && <LiveFeed />}
      </div>
    </div>
  );
}

/** Full-screen admin panel (opened from the admin entry beside the counter). */
export function AdminPanelDialog() {
  const { t } = useSolaris();
  const open = useSolarisStore((s) => s.adminOpen);
  const setOpen = useSolarisStore((s) => s.setAdminOpen);
  return (
    <SolDialog open={open} onOpenChange={setOpen} title={t.adminTitle} description={t.adminDesc} size="full" testId="solaris-admin-panel">
      {open && <AdminTab />}
    </SolDialog>
  );
}

/** The admin entry beside the counter; a live badge counts pending quota requests. */
export function AdminButton() {
  const { t } = useSolaris();
  const setOpen = useSolarisStore((s) => s.setAdminOpen);
  const pending = usePendingRequests();
  const label = pending ? `${t.adminOpen} — ${t.pendingCount(pending)}` : t.adminOpen;
  return (
    <button type="button" className="sol-icon-btn sol-admin-btn" aria-label={label} title={label} onClick={() => setOpen(true)} data-testid="solaris-admin-button">
      <span aria-hidden="true">⚙</span>
      {pending ? (
        <span className="sol-count" aria-hidden="true" data-testid="solaris-admin-badge">
          {pending}
        </span>
      ) : null}
    </button>
  );
}
