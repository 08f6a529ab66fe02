/**
 * Where the counter lives in LibreChat's page. LibreChat's markup changes between versions, so we
 * look for a few anchors in order and fall back to a floating pill at the top centre (never at the
 * bottom, where the message input and its send button are).
 */
export type Placement = 'nav-user' | 'top-bar' | 'floating';

export interface MountTarget {
  placement: Placement;
  parent: Element;
  before: Node | null;
}

function visible(el: Element): boolean {
  return el.getClientRects().length > 0 || (el as HTMLElement).offsetParent !== null;
}

export function findMountTarget(doc: Document): MountTarget {
  const nav = doc.querySelector('[data-testid="nav-user"]');
  if (nav?.parentElement && visible(nav)) return { placement: 'nav-user', parent: nav.parentElement, before: nav };
  const model = doc.querySelector('[data-testid="model-selector-button"]');
  const bar = model?.parentElement;
  if (model && bar && visible(model)) return { placement: 'top-bar', parent: bar, before: model.nextSibling };
  return { placement: 'floating', parent: doc.body, before: null };
}

const HOST_STYLE: Record<Placement, string> = {
  'nav-user': 'display:flex;justify-content:center;margin:4px 0;',
  'top-bar': 'display:inline-flex;align-items:center;margin:0 6px;',
  floating: 'position:fixed;top:8px;left:50%;transform:translateX(-50%);z-index:40;',
};

/**
 * Keeps `host` at the best anchor: re-checks (debounced) whenever the page's DOM changes and moves
 * the host only when the anchor changed, so our own insertion does not loop. Never throws.
 */
export function keepMounted(host: HTMLElement, onPlacement: (p: Placement) => void, doc: Document = document): () => void {
  let current: Placement | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const place = () => {
    timer = null;
    try {
      const target = findMountTarget(doc);
      const inPlace = host.isConnected && host.parentElement === target.parent && (target.placement === 'floating' || host.nextSibling === target.before);
      if (inPlace && current === target.placement) return;
      if (!inPlace) target.parent.insertBefore(host, target.before);
      // The session hook hides the host with inline visibility: rewriting the style must keep it, or a
      // logout that moves the dock (nav menu gone → floating) shows an empty widget again.
      const visibility = host.style.visibility;
      host.setAttribute('style', HOST_STYLE[target.placement]);
      if (visibility) host.style.visibility = visibility;
      host.dataset.placement = target.placement;
      if (current !== target.placement) {
        current = target.placement;
        onPlacement(target.placement);
      }
    } catch {
      /* the page changed under us; the next mutation retries */
    }
  };
  const schedule = () => {
    if (!timer) timer = setTimeout(place, 200);
  };
  place();
  const obs = new MutationObserver(schedule);
  obs.observe(doc.body, { childList: true, subtree: true });
  return () => {
    obs.disconnect();
    if (timer) clearTimeout(timer);
  };
}
