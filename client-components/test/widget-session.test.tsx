import { act, renderHook, waitFor } from '@testing-library/react';
import { ApiRoutes } from '@solaris/wire';
import { createApiClient } from '../src/api/client';
import { useSession } from '../src/widget/session';
import { balance, fakeApi } from './helpers';

describe('widget session (LibreChat never reloads on login/logout)', () => {
  afterEach(() => history.replaceState({}, '', '/'));

  it('asks nothing on the login page, notices login by URL change, logout by 401 and a new user on tokenUpdated', async () => {
    history.replaceState({}, '', '/login');
    let who: string | null = 'u1';
    const api = fakeApi({
      [`GET ${ApiRoutes.me}`]: () =>
        who ? { userId: who, email: `${who}@ex.com`, name: null, role: 'USER', isAdmin: who === 'root', balance: balance({ userId: who }) } : { status: 401, body: { error: { code: 'unauthorized', message: 'login' } } },
    });
    const client = createApiClient({ fetch: api.fetch });
    const { result } = renderHook(() => useSession(client));
    await waitFor(() => expect(result.current.state).toBe('anon'));
    expect(api.calls).toHaveLength(0);

    act(() => history.pushState({}, '', '/c/new')); // LibreChat's router after login
    await waitFor(() => expect(result.current).toMatchObject({ state: 'user', me: { userId: 'u1' } }), { timeout: 3000 });

    who = 'root'; // another account in the same tab
    act(() => void window.dispatchEvent(new CustomEvent('tokenUpdated', { detail: 'token' })));
    await waitFor(() => expect(result.current).toMatchObject({ state: 'user', me: { userId: 'root', isAdmin: true } }));

    who = null; // session ended elsewhere
    act(() => void document.dispatchEvent(new Event('visibilitychange')));
    await waitFor(() => expect(result.current.state).toBe('anon'));
  });

  it('a logout while a check is in flight is not lost: the check runs again after the stale answer', async () => {
    let who: string | null = 'u1';
    let release: () => void = () => undefined;
    let hold = false;
    const api = fakeApi({
      [`GET ${ApiRoutes.me}`]: async () => {
        const answer = who; // the session as it was when the request left
        if (hold) await new Promise<void>((r) => (release = r));
        return answer
          ? { userId: answer, email: `${answer}@ex.com`, name: null, role: 'USER', isAdmin: false, balance: balance({ userId: answer }) }
          : { status: 401, body: { error: { code: 'unauthorized', message: 'login' } } };
      },
    });
    const client = createApiClient({ fetch: api.fetch });
    const { result } = renderHook(() => useSession(client));
    await waitFor(() => expect(result.current).toMatchObject({ state: 'user', me: { userId: 'u1' } }));

    hold = true;
    act(() => void window.dispatchEvent(new CustomEvent('tokenUpdated', { detail: 'token' }))); // a check leaves, still signed in
    await waitFor(() => expect(api.calls).toHaveLength(2));
    hold = false;
    who = null; // logout while that check waits for its answer
    act(() => void document.dispatchEvent(new Event('visibilitychange')));
    act(() => release()); // the stale answer ("still u1") arrives
    await waitFor(() => expect(result.current.state).toBe('anon'));
    expect(api.calls).toHaveLength(3);
  });
});
