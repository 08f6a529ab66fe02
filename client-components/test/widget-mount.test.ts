import { findMountTarget, keepMounted, type Placement } from '../src/widget/mount';

// jsdom has no layout: treat every connected element as visible unless it is display:none.
beforeAll(() => {
  vi.spyOn(Element.prototype, 'getClientRects').mockImplementation(function (this: Element) {
    const hidden = (this as HTMLElement).style?.display === 'none';
    return (hidden ? [] : [{}]) as unknown as DOMRectList;
  });
});
afterEach(() => {
  document.body.innerHTML = '';
});

describe('widget mount point', () => {
  it('prefers the account button, then the top bar, then a floating pill', () => {
    document.body.innerHTML = `<nav><div id="rail"><button data-testid="nav-user">A</button></div></nav><header><div id="bar"><button data-testid="model-selector-button">m</button><span id="after"></span></div></header>`;
    let t = findMountTarget(document);
    expect(t.placement).toBe('nav-user');
    expect(t.parent.id).toBe('rail');
    (document.querySelector('[data-testid="nav-user"]') as HTMLElement).style.display = 'none'; // sidebar collapsed
    t = findMountTarget(document);
    expect(t.placement).toBe('top-bar');
    expect(t.parent.id).toBe('bar');
    expect((t.before as Element).id).toBe('after');
    document.body.innerHTML = '<main>nothing we know</main>';
    expect(findMountTarget(document).placement).toBe('floating');
  });

  it('follows LibreChat re-rendering its DOM without looping or throwing', async () => {
    vi.useFakeTimers();
    const host = document.createElement('solaris-widget');
    const seen: Placement[] = [];
    const stop = keepMounted(host, (p) => seen.push(p));
    expect(host.parentElement).toBe(document.body);
    expect(host.style.position).toBe('fixed');
    expect(host.style.top).toBe('8px'); // top, away from the message input

    const rail = document.createElement('div');
    rail.innerHTML = '<button data-testid="nav-user">A</button>';
    document.body.appendChild(rail);
    await vi.advanceTimersByTimeAsync(50); // MutationObserver callbacks are microtasks
    await vi.advanceTimersByTimeAsync(300);
    expect(host.parentElement).toBe(rail);
    expect(host.nextElementSibling?.getAttribute('data-testid')).toBe('nav-user');

    // LibreChat replaces the rail (route change): back to floating, then to the new rail
    rail.remove();
    await vi.advanceTimersByTimeAsync(300);
    expect(host.parentElement).toBe(document.body);
    const rail2 = document.createElement('div');
    rail2.innerHTML = '<span></span><button data-testid="nav-user">B</button>';
    document.body.appendChild(rail2);
    await vi.advanceTimersByTimeAsync(300);
    expect(host.parentElement).toBe(rail2);
    expect(seen).toEqual(['floating', 'nav-user', 'floating', 'nav-user']);

    // settled: further unrelated mutations do not move it or re-announce
    document.body.appendChild(document.createElement('p'));
    await vi.advanceTimersByTimeAsync(300);
    expect(seen).toHaveLength(4);
    stop();
    vi.useRealTimers();
  });

  it('keeps a signed-out host hidden when the page moves it (logout removes the account button)', async () => {
    vi.useFakeTimers();
    document.body.innerHTML = '<div id="rail"><button data-testid="nav-user">A</button></div>';
    const host = document.createElement('solaris-widget');
    const stop = keepMounted(host, () => undefined);
    expect(host.parentElement?.id).toBe('rail');
    host.style.visibility = 'hidden'; // what the session hook does on logout
    document.getElementById('rail')!.remove();
    await vi.advanceTimersByTimeAsync(300);
    expect(host.parentElement).toBe(document.body);
    expect(host.style.position).toBe('fixed');
    expect(host.style.visibility).toBe('hidden');
    stop();
    vi.useRealTimers();
  });
});
