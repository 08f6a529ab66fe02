import { UsageWarningModal } from './UsageWarningModal';
import { QuotaBlockedModal } from './QuotaBlockedModal';
import { StatementDialog } from './StatementPanel';
import { AdminPanelDialog } from '../admin/AdminTab';
import { DecisionNotice } from './DecisionNotice';

/** Every dialog, driven by the store: render once anywhere inside the provider. */
export function SolarisOverlay({ isAdmin = false }: { isAdmin?: boolean }) {
  return (
    <>
      <UsageWarningModal />
      <QuotaBlockedModal />
      <StatementDialog />
      {isAdmin && <AdminPanelDialog />}
      <DecisionNotice />
    </>
  );
}
