import { createContext, useContext, useEffect, useMemo, useRef, type ReactNode } from 'react';
import { QueryClient, QueryClientProvider, useQueryClient } from '@tanstack/react-query';
import { useStore } from 'zustand';
import { DEFAULT_WARN_PERCENT, type BalanceDTO, type BlockedEventDTO, type LedgerEntryDTO, type NoticeDTO, type QuotaRequestDecidedEventDTO, type QuotaRequestEventDTO, type ThresholdEventDTO, type UsageEventDTO } from '@solaris/wire';
import { ApiError, createApiClient, type ApiClient, type FetchLike } from './api/client';
import { createSolarisSocket, type SolarisSocket } from './socket';
import { createSolarisStore, type SolarisState, type SolarisStore } from './store';
import { MESSAGES, makeFormatters, type Formatters, type Locale, type Messages } from './i18n';
import { useHtmlPreferences, type Theme } from './theme';
import { SOLARIS_CSS } from './styles';
import { keys } from './keys';

export interface SolarisOptions {
  /** Lowest threshold (percent) that opens the warning modal; default: the deployment's lowest below 100. */
  warnAt?: number;
  /** Replaces the "what to do" line of the block modal (e.g. who to contact). */
  blockedHelpText?: string;
  /** Optional link shown in the block modal ("request more tokens"). */
  contactUrl?: string;
  /**
   * Personal limit and "request more tokens" (ExtrasRoutes) in the block modal and the statement;
   * default true. Turn off for a server mounted without extras.
   */
  quotaRequests?: boolean;
}

export interface SolarisContextValue {
  api: ApiClient;
  store: SolarisStore;
  t: Messages;
  fmt: Formatters;
  locale: Locale;
  theme: Theme;
  /** Where dialogs are portalled (the widget's Shadow DOM); document.body when undefined. */
  portalContainer: HTMLElement | undefined;
  options: SolarisOptions;
  socket: SolarisSocket | null;
}

const Ctx = createContext<SolarisContextValue | null>(null);

export function useSolaris(): SolarisContextValue {
  const v = useContext(Ctx);
  if (!v) throw new Error('Solaris components must be rendered inside <SolarisProvider>');
  return v;
}

export function useSolarisStore<T>(selector: (s: SolarisState) => T): T {
  return useStore(useSolaris().store, selector);
}

export interface SolarisProviderProps extends SolarisOptions {
  children?: ReactNode;
  /** REST prefix, default API_PREFIX. */
  apiBase?: string;
  /** Transport for REST; default window.fetch (same-origin cookies). */
  fetch?: FetchLike;
  /** `undefined` → connect a real socket.io client; `null` → no live updates; an object → use it (tests). */
  socket?: SolarisSocket | null;
  queryClient?: QueryClient;
  locale?: Locale;
  theme?: Theme;
  portalContainer?: HTMLElement;
  /** Where our stylesheet goes; default document (pass a ShadowRoot in the widget, `null` to skip). */
  styleTarget?: Document | ShadowRoot | null;
  /** Seeds the balance (e.g. from an earlier /me) so the counter paints without a round trip. */
  initialBalance?: BalanceDTO;
}

export function ensureStyles(target: Document | ShadowRoot): void {
  const parent = target instanceof Document ? target.head : target;
  if (parent.querySelector('style[data-solaris]')) return;
  const style = (target instanceof Document ? target : target.ownerDocument).createElement('style');
  style.setAttribute('data-solaris', '');
  style.textContent = SOLARIS_CSS;
  parent.appendChild(style);
}

function defaultQueryClient() {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // Live values arrive over the socket; REST is for the first paint and for reconnects.
        staleTime: 30_000,
        refetchOnWindowFocus: false,
        retry: (count, err) => !(err instanceof ApiError && err.status >= 400 && err.status < 500) && count < 2,
      },
    },
  });
}

/** Throttle with a trailing call: bursts of ledger events refetch at most once per `ms`. */
function throttle(fn: () => void, ms: number) {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let pending = false;
  const run = () => {
    if (timer) {
      pending = true;
      return;
    }
    fn();
    timer = setTimeout(() => {
      timer = null;
      if (pending) {
        pending = false;
        run();
      }
    }, ms);
  };
  return Object.assign(run, { cancel: () => timer && clearTimeout(timer) });
}

// firedAt: a threshold fires again in the same period after an admin reset; that is a new warning.
const ackKey = (e: ThresholdEventDTO) => `solaris:warn-ack:${e.userId}:${e.periodKey}:${e.threshold}${e.firedAt ? ':' + e.firedAt : ''}`;

export function acknowledgeWarning(e: ThresholdEventDTO): void {
  try {
    localStorage.setItem(ackKey(e), '1');
  } catch {
    /* storage disabled: dismissal stays local to this tab */
  }
}
function isAcknowledged(e: ThresholdEventDTO): boolean {
  try {
    return localStorage.getItem(ackKey(e)) === '1';
  } catch {
    return false;
  }
}

/** Connects socket events to the store and the query cache. */
function SocketBridge({ socket, store, warnAt }: { socket: SolarisSocket | null; store: SolarisStore; warnAt?: number }) {
  const qc = useQueryClient();
  useEffect(() => {
    if (!socket) return;
    const s = store.getState;
    const refreshStatement = throttle(() => {
      void qc.invalidateQueries({ queryKey: keys.statementRoot });
      void qc.invalidateQueries({ queryKey: keys.usageDailyRoot });
    }, 1000);
    const refreshAdmin = throttle(() => void qc.invalidateQueries({ queryKey: keys.adminRoot }), 2000);

    const ownBalance = (b: BalanceDTO): boolean => {
      const current = qc.getQueryData<BalanceDTO>(keys.balance);
      return !current || current.userId === b.userId;
    };
    const applyBalance = (b: BalanceDTO) => {
      if (!ownBalance(b)) return;
      const before = qc.getQueryData<BalanceDTO>(keys.balance);
      qc.setQueryData(keys.balance, b);
      if (b.state !== 'blocked' && s().blocked) s().clearBlocked(); // an admin grant lifted the block
      if (b.state === 'blocked' && before && before.state !== 'blocked') s().showBlocked({ reason: 'quota_exceeded', balance: b });
    };
    const onConnect = () => {
      s().setConnected(true);
      void qc.invalidateQueries({ queryKey: keys.balance }); // catch up on anything missed while away
    };
    const onDisconnect = () => s().setConnected(false);
    const onBalance = (b: BalanceDTO) => applyBalance(b);
    const onThreshold = (e: ThresholdEventDTO) => {
      if (!ownBalance(e.balance)) return;
      applyBalance(e.balance);
      const lowest = warnAt ?? Math.min(...e.balance.thresholds.filter((t) => t < 100), DEFAULT_WARN_PERCENT);
      if (e.threshold >= 100) s().showBlocked({ reason: 'quota_exceeded', balance: e.balance });
      else if (e.threshold >= lowest && !isAcknowledged(e)) s().showWarning(e);
    };
    const onBlocked = (e: BlockedEventDTO) => {
      if (!ownBalance(e.balance)) return;
      qc.setQueryData(keys.balance, e.balance);
      s().showBlocked({ reason: e.reason, balance: e.balance });
    };
    const onLedger = (_e: LedgerEntryDTO) => refreshStatement();
    const onDecided = (e: QuotaRequestDecidedEventDTO) => {
      applyBalance(e.balance); // an approval that lifts the block closes the block modal here
      if (e.request.status === 'approved' && e.balance.state !== 'blocked') s().clearBlocked();
      s().showDecision(e);
      void qc.invalidateQueries({ queryKey: keys.myRequestsRoot });
      void qc.invalidateQueries({ queryKey: keys.mySettings });
    };
    const onNotice = (n: NoticeDTO) => {
      s().showNotice(n);
      void qc.invalidateQueries({ queryKey: keys.balance });
    };
    const onRequest = (e: QuotaRequestEventDTO) => {
      s().setPendingRequests(e.pendingCount);
      void qc.invalidateQueries({ queryKey: keys.adminRequestsRoot });
      if (e.request.status !== 'pending') void qc.invalidateQueries({ queryKey: keys.adminAudit });
    };
    const onUsage = (e: UsageEventDTO) => {
      s().pushUsage(e);
      refreshAdmin();
    };
    const onUsageBatch = (list: UsageEventDTO[]) => {
      if (!Array.isArray(list) || list.length === 0) return;
      for (const e of list) s().pushUsage(e);
      refreshAdmin();
    };
    const onStorage = (ev: StorageEvent) => {
      const w = s().warning;
      if (w && ev.key === ackKey(w) && ev.newValue === '1') s().dismissWarning(); // dismissed in another tab
    };

    socket.on('connect', onConnect);
    socket.on('disconnect', onDisconnect);
    socket.on('connect_error', onDisconnect);
    socket.on('balance', onBalance);
    socket.on('threshold', onThreshold);
    socket.on('blocked', onBlocked);
    socket.on('ledger', onLedger);
    socket.on('usage', onUsage);
    socket.on('usage_batch', onUsageBatch);
    socket.on('request_decided', onDecided);
    socket.on('notice', onNotice);
    socket.on('request', onRequest);
    window.addEventListener('storage', onStorage);
    s().setConnected(socket.connected ? true : null);
    return () => {
      socket.off('connect', onConnect);
      socket.off('disconnect', onDisconnect);
      socket.off('connect_error', onDisconnect);
      socket.off('balance', onBalance as never);
      socket.off('threshold', onThreshold as never);
      socket.off('blocked', onBlocked as never);
      socket.off('ledger', onLedger as never);
      socket.off('usage', onUsage as never);
      socket.off('usage_batch', onUsageBatch as never);
      socket.off('request_decided', onDecided as never);
      socket.off('notice', onNotice as never);
      socket.off('request', onRequest as never);
      window.removeEventListener('storage', onStorage);
      refreshStatement.cancel();
      refreshAdmin.cancel();
    };
  }, [socket, store, qc, warnAt]);
  return null;
}

/** QueryClient + socket + i18n + theme for every Solaris component. */
export function SolarisProvider(props: SolarisProviderProps) {
  const { children, apiBase, fetch, queryClient, portalContainer, styleTarget, warnAt, blockedHelpText, contactUrl, quotaRequests = true } = props;
  const qcRef = useRef<QueryClient | null>(null);
  if (!queryClient && !qcRef.current) {
    qcRef.current = defaultQueryClient();
    if (props.initialBalance) qcRef.current.setQueryData(keys.balance, props.initialBalance);
  }
  const qc = queryClient ?? (qcRef.current as QueryClient);
  const storeRef = useRef<SolarisStore | null>(null);
  const store = (storeRef.current ??= createSolarisStore());
  const api = useMemo(() => createApiClient({ base: apiBase, fetch }), [apiBase, fetch]);
  const { theme, locale } = useHtmlPreferences({ theme: props.theme, locale: props.locale });

  // Own the real socket only when none was injected.
  const injected = props.socket;
  const ownedRef = useRef<SolarisSocket | null>(null);
  if (injected === undefined && !ownedRef.current && typeof window !== 'undefined') ownedRef.current = createSolarisSocket();
  const socket = injected === undefined ? ownedRef.current : injected;
  useEffect(() => {
    const owned = ownedRef.current;
    if (!owned) return;
    if (!owned.connected) owned.connect(); // after a StrictMode unmount/remount
    return () => void owned.disconnect();
  }, []);

  useEffect(() => {
    if (styleTarget === null) return;
    ensureStyles(styleTarget ?? document);
  }, [styleTarget]);

  const value = useMemo<SolarisContextValue>(
    () => ({
      api,
      store,
      t: MESSAGES[locale],
      fmt: makeFormatters(locale),
      locale,
      theme,
      portalContainer,
      options: { warnAt, blockedHelpText, contactUrl, quotaRequests },
      socket,
    }),
    [api, store, locale, theme, portalContainer, warnAt, blockedHelpText, contactUrl, quotaRequests, socket],
  );
  return (
    <QueryClientProvider client={qc}>
      <Ctx.Provider value={value}>
        <SocketBridge socket={socket} store={store} warnAt={warnAt} />
        {children}
      </Ctx.Provider>
    </QueryClientProvider>
  );
}
