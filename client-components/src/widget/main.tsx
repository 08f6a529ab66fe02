/**
 * widget.js: injected into LibreChat's index.html (`<script src="/solaris/widget.js" defer>`).
 * React is bundled; our CSS lives in Shadow DOM roots so LibreChat's Tailwind and ours never meet.
 * Two hosts: a small "dock" (counter + admin entry) placed beside LibreChat's account button, and a
 * fixed "layer" at the end of <body> for the dialogs.
 */
import { StrictMode, useMemo, useState, useEffect } from 'react';
import { createRoot } from 'react-dom/client';
import { createPortal } from 'react-dom';
import { SolarisProvider } from '../provider';
import { createApiClient } from '../api/client';
import { SOLARIS_CSS } from '../styles';
import { TokenCounter } from '../components/TokenCounter';
import { SolarisOverlay } from '../components/SolarisOverlay';
import { AdminButton } from '../admin/AdminTab';
import { ThemeScope } from '../components/ui';
import { keepMounted, type Placement } from './mount';
import { useSession } from './session';

declare global {
  interface Window {
    __solarisWidget?: { unmount(): void };
  }
}

function shadowHost(id: string): { host: HTMLElement; inner: HTMLElement } {
  const host = document.createElement('solaris-widget');
  host.id = id;
  const root = host.attachShadow({ mode: 'open' });
  const style = document.createElement('style');
  style.textContent = `:host{all:initial}${SOLARIS_CSS}`;
  root.appendChild(style);
  const inner = document.createElement('div');
  root.appendChild(inner);
  return { host, inner };
}

function WidgetApp({ dock, dockHost, portal }: { dock: HTMLElement; dockHost: HTMLElement; portal: HTMLElement }) {
  const api = useMemo(() => createApiClient(), []);
  const session = useSession(api);
  const [placement, setPlacement] = useState<Placement>('floating');
  useEffect(() => keepMounted(dockHost, setPlacement), [dockHost]);
  useEffect(() => {
    dockHost.style.visibility = session.state === 'user' ? '' : 'hidden';
  }, [dockHost, session.state]);
  if (session.state !== 'user') return null; // signed out: nothing shown, no socket
  const { me } = session;
  return (
    // key: another user logging in gets a fresh cache, store and socket handshake
    <SolarisProvider key={me.userId} portalContainer={portal} styleTarget={null} initialBalance={me.balance}>
      {createPortal(
        <ThemeScope className={`sol-dock sol-dock-${placement}`}>
          <TokenCounter compact={placement === 'nav-user'} />
          {me.isAdmin && <AdminButton />}
        </ThemeScope>,
        dock,
      )}
      <SolarisOverlay isAdmin={me.isAdmin} />
    </SolarisProvider>
  );
}

function boot() {
  if (window.__solarisWidget || !document.body) return;
  const dock = shadowHost('solaris-dock');
  const layer = shadowHost('solaris-layer');
  layer.host.setAttribute('style', 'position:fixed;top:0;left:0;width:0;height:0;z-index:2147483000;');
  document.body.appendChild(layer.host);
  const appRoot = document.createElement('div');
  const portal = document.createElement('div');
  layer.inner.append(appRoot, portal);
  const root = createRoot(appRoot);
  root.render(
    <StrictMode>
      <WidgetApp dock={dock.inner} dockHost={dock.host} portal={portal} />
    </StrictMode>,
  );
  window.__solarisWidget = {
    unmount() {
      root.unmount();
      dock.host.remove();
      layer.host.remove();
      delete window.__solarisWidget;
    },
  };
}

try {
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot, { once: true });
  else boot();
} catch {
  /* never break LibreChat's page */
}
