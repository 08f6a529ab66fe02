import { WIDGET_PATH } from '@solaris/wire';

/**
 * The demo's stand-in for LibreChat's page: a minimal chat SPA (login, logout and conversations
 * change the URL without reloading, like LibreChat) with the same anchors the widget looks for
 * (`data-testid="nav-user"`, `data-testid="model-selector-button"`), and the widget injected exactly
 * as the LibreChat plugin does it: one `<script src="/solaris/widget.js" defer>`.
 */
export function demoPage(): string {
  return `<!doctype html>
<html lang="pt-BR">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Solaris Token Control — demo</title>
<link rel="icon" href="data:,">
<style>
  :root { color-scheme: light; --bg:#fff; --bg2:#f4f4f5; --fg:#18181b; --muted:#71717a; --border:#e4e4e7; --accent:#10a37f; }
  html.dark { color-scheme: dark; --bg:#212121; --bg2:#171717; --fg:#ececec; --muted:#a1a1aa; --border:#3f3f46; }
  * { box-sizing: border-box; }
  body { margin:0; font: 15px/1.5 ui-sans-serif, system-ui, sans-serif; background: var(--bg); color: var(--fg); height: 100vh; height: 100dvh; overflow: hidden; }
  .banner { height: 28px; display:flex; align-items:center; justify-content:center; gap:8px; background:#7c3aed; color:#fff; font-size:13px; font-weight:600; letter-spacing:.02em; }
  .app { display:flex; height: calc(100vh - 28px); height: calc(100dvh - 28px); position:relative; }
  .rail { width: 64px; background: var(--bg2); border-right:1px solid var(--border); display:flex; flex-direction:column; align-items:center; padding:10px 0; gap:10px; }
  .rail .logo { width:36px; height:36px; border-radius:10px; background:var(--accent); color:#fff; display:grid; place-items:center; font-weight:700; }
  .rail .spacer { flex:1; }
  .avatar { width:36px; height:36px; border-radius:50%; border:0; background:#6366f1; color:#fff; font-weight:700; cursor:pointer; }
  .menu { position:absolute; left:70px; bottom:12px; background:var(--bg); border:1px solid var(--border); border-radius:10px; padding:8px; min-width:200px; box-shadow:0 6px 20px rgba(0,0,0,.2); z-index:20; }
  .menu button { width:100%; text-align:left; padding:6px 8px; border:0; background:none; color:var(--fg); border-radius:6px; cursor:pointer; font:inherit; }
  .menu button:hover { background: var(--bg2); }
  .sidebar { width: 240px; border-right:1px solid var(--border); padding:12px; display:flex; flex-direction:column; gap:6px; }
  .sidebar button { text-align:left; padding:8px 10px; border-radius:8px; border:1px solid var(--border); background:var(--bg); color:var(--fg); cursor:pointer; font:inherit; }
  .sidebar .conv[aria-current="page"] { background: var(--bg2); font-weight:600; }
  .main { flex:1; display:flex; flex-direction:column; min-width:0; }
  .topbar { height:52px; display:flex; align-items:center; gap:8px; padding:0 16px; border-bottom:1px solid var(--border); }
  .topbar .grow { flex:1; }
  .topbar select, .topbar button { font:inherit; padding:5px 10px; border-radius:8px; border:1px solid var(--border); background:var(--bg); color:var(--fg); }
  .messages { flex:1; overflow:auto; padding:20px max(16px, calc(50% - 380px)); display:flex; flex-direction:column; gap:12px; }
  .msg { padding:10px 14px; border-radius:14px; max-width: 85%; white-space: pre-wrap; }
  .msg.user { align-self:flex-end; background: var(--bg2); }
  .msg.assistant { align-self:flex-start; border:1px solid var(--border); }
  .msg.error { align-self:flex-start; border:1px solid #dc2626; background: rgba(220,38,38,.08); }
  .msg .meta { display:block; font-size:12px; color:var(--muted); margin-top:4px; }
  .composer { padding: 12px max(16px, calc(50% - 380px)) 6px; }
  .composer form { display:flex; gap:8px; border:1px solid var(--border); border-radius:16px; padding:8px; background:var(--bg); }
  .composer textarea { flex:1; border:0; resize:none; font:inherit; background:transparent; color:var(--fg); outline:none; min-height:24px; }
  .composer button { border:0; border-radius:10px; background:var(--accent); color:#fff; padding:0 14px; font:inherit; font-weight:600; cursor:pointer; }
  .composer button:disabled { opacity:.5; cursor:wait; }
  .footer { text-align:center; font-size:12px; color:var(--muted); padding: 0 0 10px; }
  .login { max-width: 460px; margin: 60px auto; padding: 24px; border:1px solid var(--border); border-radius: 16px; }
  .login h1 { font-size: 20px; margin: 0 0 4px; }
  .login p { color: var(--muted); margin: 0 0 16px; }
  .login button { display:block; width:100%; margin: 8px 0; padding: 10px 12px; border-radius: 10px; border:1px solid var(--border); background: var(--bg2); color: var(--fg); font: inherit; text-align:left; cursor:pointer; }
  .login small { color: var(--muted); }
  .menu-toggle { display:none; }
  /* Phones and small tablets (LibreChat does the same): the conversation list becomes a drawer over the
     chat, opened from the top bar, so the chat keeps the whole width; the rail stays (account button). */
  @media (max-width: 767px) {
    .banner { font-size:11px; padding:0 8px; text-align:center; overflow:hidden; white-space:nowrap; text-overflow:ellipsis; display:block; line-height:28px; }
    .rail { width:52px; }
    .menu { left:58px; }
    .sidebar { position:absolute; z-index:15; top:0; bottom:0; left:52px; width:min(260px, calc(100vw - 72px)); background:var(--bg); box-shadow:0 6px 20px rgba(0,0,0,.25); }
    .sidebar:not(.open) { display:none; }
    .menu-toggle { display:inline-block; }
    .topbar { padding:0 10px; }
    .topbar select { min-width:0; max-width:calc(100vw - 190px); }
    .messages { padding:12px 10px; }
    .composer { padding:8px 10px 4px; }
    .msg { max-width:92%; }
  }
  @media (max-width: 480px) { #share { display:none; } }
  [hidden] { display:none !important; }
</style>
</head>
<body>
<div class="banner" role="note">DEMO · Solaris Token Control — página de demonstração que imita o LibreChat (respostas de um modelo falso)</div>
<div id="login-view" class="login" hidden>
  <h1>Entrar (demo)</h1>
  <p>Escolha um usuário de demonstração. Os limites são pequenos: 80% e 100% chegam em poucas mensagens.</p>
  <div id="login-users"></div>
</div>
<div id="chat-view" class="app" hidden>
  <nav class="rail" aria-label="Navegação">
    <div class="logo" aria-hidden="true">S</div>
    <div class="spacer"></div>
    <button class="avatar" data-testid="nav-user" id="nav-user" aria-haspopup="menu" aria-expanded="false" title="Conta"></button>
    <div class="menu" id="account-menu" role="menu" hidden>
      <div id="account-name" style="padding:6px 8px;font-size:13px;color:var(--muted)"></div>
      <button role="menuitem" id="toggle-theme">Alternar tema claro/escuro</button>
      <button role="menuitem" id="toggle-lang">Idioma: pt-BR / English</button>
      <button role="menuitem" id="logout">Sair</button>
    </div>
  </nav>
  <aside class="sidebar" id="sidebar" aria-label="Conversas">
    <button id="new-chat">+ Nova conversa</button>
    <div id="conversations"></div>
  </aside>
  <main class="main">
    <div class="topbar">
      <button class="menu-toggle" id="menu-toggle" type="button" aria-controls="sidebar" aria-expanded="false" aria-label="Conversas">☰</button>
      <select data-testid="model-selector-button" id="model" aria-label="Modelo">
        <option value="gpt-4o-mini">gpt-4o-mini (peso 1)</option>
        <option value="gpt-4o">gpt-4o (peso 2; 1,5 no plano Pro)</option>
      </select>
      <div class="grow"></div>
      <button id="share" type="button">Compartilhar</button>
    </div>
    <div class="messages" id="messages" aria-live="polite"></div>
    <div class="composer">
      <form id="composer">
        <textarea id="demo-input" rows="1" placeholder="Envie uma mensagem…" aria-label="Mensagem"></textarea>
        <button id="demo-send" type="submit">Enviar</button>
      </form>
    </div>
    <div class="footer">Solaris Token Control — demo (LibreChat não incluído)</div>
  </main>
</div>
<script>
(() => {
  const $ = (id) => document.getElementById(id);
  const state = { user: null, convs: {}, current: null };
  const api = async (path, body) => {
    const r = await fetch(path, { method: body ? 'POST' : 'GET', credentials: 'same-origin', headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
    const json = await r.json().catch(() => ({}));
    return { status: r.status, json };
  };
  const go = (path) => { if (location.pathname !== path) history.pushState({}, '', path); };

  async function showLogin() {
    state.user = null; go('/login');
    $('chat-view').hidden = true; $('login-view').hidden = false;
    const { json } = await api('/demo/api/users');
    $('login-users').innerHTML = '';
    for (const u of json.users || []) {
      const b = document.createElement('button');
      b.dataset.demoUser = u.userId;
      b.innerHTML = '<strong></strong><br><small></small>';
      b.querySelector('strong').textContent = 'Entrar como ' + u.name;
      b.querySelector('small').textContent = u.description;
      b.onclick = async () => { const r = await api('/demo/api/login', { userId: u.userId }); if (r.status === 200) showChat(r.json.user); };
      $('login-users').appendChild(b);
    }
  }
  function showChat(user) {
    state.user = user; state.convs = {}; state.current = null;
    $('login-view').hidden = true; $('chat-view').hidden = false;
    $('nav-user').textContent = (user.name || '?').slice(0, 1).toUpperCase();
    $('account-name').textContent = user.name + ' · ' + user.email;
    newChat();
  }
  function newChat() {
    const id = 'conv-' + Math.random().toString(36).slice(2, 10);
    state.convs[id] = { id, title: 'Nova conversa', messages: [] };
    state.current = id; go('/c/' + id); render();
  }
  function render() {
    const conv = state.convs[state.current];
    $('conversations').innerHTML = '';
    for (const c of Object.values(state.convs).reverse()) {
      const b = document.createElement('button'); b.className = 'conv'; b.textContent = c.title;
      if (c.id === state.current) b.setAttribute('aria-current', 'page');
      b.onclick = () => { state.current = c.id; go('/c/' + c.id); render(); };
      $('conversations').appendChild(b);
    }
    const box = $('messages'); box.innerHTML = '';
    for (const m of conv.messages) {
      const d = document.createElement('div'); d.className = 'msg demo-msg ' + m.role; d.textContent = m.content;
      if (m.meta) { const s = document.createElement('span'); s.className = 'meta'; s.textContent = m.meta; d.appendChild(s); }
      box.appendChild(d);
    }
    box.scrollTop = box.scrollHeight;
  }
  $('composer').onsubmit = async (e) => {
    e.preventDefault();
    const text = $('demo-input').value.trim(); if (!text) return;
    const conv = state.convs[state.current];
    if (conv.messages.length === 0) conv.title = text.slice(0, 28);
    conv.messages.push({ role: 'user', content: text });
    $('demo-input').value = ''; $('demo-send').disabled = true; render();
    try {
      // The fake model has no memory: only the new message is sent, so each message costs about the same.
      const history = [{ role: 'user', content: text }];
      const r = await api('/demo/api/chat', { model: $('model').value, conversationId: conv.id, messages: history });
      if (r.status === 200) conv.messages.push({ role: 'assistant', content: r.json.reply, meta: r.json.usage ? (r.json.usage.total_tokens + ' tokens') : '' });
      else if (r.status === 401) return showLogin();
      else conv.messages.push({ role: 'error', content: (r.json && (r.json.message || (r.json.error && r.json.error.message))) || ('Erro ' + r.status) });
    } catch (err) {
      conv.messages.push({ role: 'error', content: 'Falha de rede: ' + err });
    } finally { $('demo-send').disabled = false; render(); $('demo-input').focus(); }
  };
  $('demo-input').addEventListener('keydown', (e) => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); $('composer').requestSubmit(); } });
  const drawer = (open) => { $('sidebar').classList.toggle('open', open); $('menu-toggle').setAttribute('aria-expanded', String(open)); };
  $('menu-toggle').onclick = () => drawer(!$('sidebar').classList.contains('open'));
  $('sidebar').addEventListener('click', (e) => { if (e.target.closest('button')) drawer(false); });
  $('new-chat').onclick = newChat;
  $('nav-user').onclick = () => { const m = $('account-menu'); m.hidden = !m.hidden; $('nav-user').setAttribute('aria-expanded', String(!m.hidden)); };
  $('logout').onclick = async () => { $('account-menu').hidden = true; await api('/demo/api/logout', {}); showLogin(); };
  $('toggle-theme').onclick = () => document.documentElement.classList.toggle('dark');
  $('toggle-lang').onclick = () => {
    const next = (document.documentElement.lang || 'pt-BR').startsWith('pt') ? 'en-US' : 'pt-BR';
    localStorage.setItem('lang', JSON.stringify(next)); document.documentElement.lang = next;
  };
  window.addEventListener('popstate', () => { const id = location.pathname.split('/c/')[1]; if (id && state.convs[id]) { state.current = id; render(); } });
  try { const l = JSON.parse(localStorage.getItem('lang') || 'null'); if (l) document.documentElement.lang = l; } catch {}
  api('/demo/api/session').then((r) => (r.status === 200 ? showChat(r.json.user) : showLogin()));
})();
</script>
<script src="${WIDGET_PATH}" defer></script>
</body>
</html>`;
}
