import { useRef, useState, type KeyboardEvent } from 'react';
import { useSolaris, useSolarisStore } from '../provider';
import { SolDialog } from '../components/ui';
import { UsersTable } from './UsersTable';
import { UserDetail } from './UserDetail';
import { PlansEditor } from './PlansEditor';
import { AuditLog } from './AuditLog';
import { LiveFeed, UsageCharts } from './UsageCharts';

type Tab = 'users' | 'plans' | 'audit' | 'usage' | 'live';
const TABS: Tab[] = ['users', 'plans', 'audit', 'usage', 'live'];

/** Admin area: tabs with roving focus (arrow keys, Home/End), users → detail, plans, audit, charts, live feed. */
export function AdminTab() {
  const { t } = useSolaris();
  const [tab, setTab] = useState<Tab>('users');
  const [selected, setSelected] = useState<string | null>(null);
  const refs = useRef<Record<string, HTMLButtonElement | null>>({});
  const label: Record<Tab, string> = { users: t.tabUsers, plans: t.tabPlans, audit: t.tabAudit, usage: t.tabUsage, live: t.tabLive };
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
            className="sol-tab"
            onClick={() => setTab(k)}
          >
            {label[k]}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`sol-panel-${tab}`} aria-labelledby={`sol-tab-${tab}`} className="sol-tabpanel">
        {tab === 'users' && (selected ? <UserDetail userId={selected} onBack={() => setSelected(null)} /> : <UsersTable onSelect={setSelected} />)}
        {tab === 'plans' && <PlansEditor />}
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

export function AdminButton() {
  const { t } = useSolaris();
  const setOpen = useSolarisStore((s) => s.setAdminOpen);
  return (
    <button type="button" className="sol-icon-btn sol-admin-btn" aria-label={t.adminOpen} title={t.adminOpen} onClick={() => setOpen(true)} data-testid="solaris-admin-button">
      <span aria-hidden="true">⚙</span>
    </button>
  );
}
