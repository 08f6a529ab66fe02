import { useEffect, useState } from 'react';
import { ApiRoutes, type MeDTO } from '@solaris/wire';
import { ApiError, type ApiClient } from '../api/client';

export type Session = { state: 'loading' } | { state: 'anon' } | { state: 'user'; me: MeDTO };

const POLL_MS = 60_000;
/** LibreChat's signed-out pages: nobody is logged in there, so we don't even ask (no 401 in the console). */
const SIGNED_OUT_PATHS = /^\/(login|register|forgot-password|reset-password|verify)(\/|$)/;

/**
 * Who is logged in, without LibreChat's help: its page never reloads on login/logout, so we ask
 * /solaris/api/me (cookie auth) at start, on URL changes, when LibreChat refreshes its token
 * (`tokenUpdated`), when the tab becomes visible, and lightly every minute.
 */
export function useSession(api: ApiClient): Session {
  const [session, setSession] = useState<Session>({ state: 'loading' });
  useEffect(() => {
    let inflight = false;
    let again = false;
    let stopped = false;
    let lastUrl = location.href;
    const check = async (): Promise<void> => {
      if (stopped) return;
      // A check asked for while one is in flight runs again after it: that answer may predate what changed
      // (a logout right after a token refresh), and dropping the request left the widget up for a minute.
      if (inflight) {
        again = true;
        return;
      }
      if (SIGNED_OUT_PATHS.test(location.pathname)) {
        setSession((prev) => (prev.state === 'anon' ? prev : { state: 'anon' }));
        return;
      }
      inflight = true;
      try {
        const me = await api.get<MeDTO>(ApiRoutes.me);
        if (!stopped)
          setSession((prev) => (prev.state === 'user' && prev.me.userId === me.userId && prev.me.isAdmin === me.isAdmin ? prev : { state: 'user', me }));
      } catch (err) {
        // Signed out (or not allowed): hide. Network trouble: keep what we show.
        if (!stopped && err instanceof ApiError && (err.status === 401 || err.status === 403)) setSession({ state: 'anon' });
      } finally {
        inflight = false;
      }
      if (again) {
        again = false;
        return check();
      }
    };
    const onUrl = () => {
      if (location.href === lastUrl) return;
      lastUrl = location.href;
      void check();
    };
    const onVisible = () => document.visibilityState === 'visible' && void check();
    const onToken = () => void check();
    void check();
    const poll = setInterval(() => void check(), POLL_MS);
    const urlTimer = setInterval(onUrl, 1000);
    window.addEventListener('popstate', onUrl);
    window.addEventListener('tokenUpdated', onToken);
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      stopped = true;
      clearInterval(poll);
      clearInterval(urlTimer);
      window.removeEventListener('popstate', onUrl);
      window.removeEventListener('tokenUpdated', onToken);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [api]);
  return session;
}
