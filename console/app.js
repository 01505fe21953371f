// The console's shell: hash routing, the sign-in form, and the polling loop of the current view.
import { AuthError, setToken, token, get } from './api.js';
import { h, errorBox } from './dom.js';
import overview from './views/overview.js';
import destination from './views/destination.js';
import deadLetters from './views/dead_letters.js';
import pattern from './views/pattern.js';
import eventView from './views/event.js';

const routes = [
  [/^#?\/?$/, overview, 'overview'],
  [/^#\/destination\/(.+)$/, destination, 'overview'],
  [/^#\/dead-letters$/, deadLetters, 'dead-letters'],
  [/^#\/pattern$/, pattern, 'pattern'],
  [/^#\/event(?:\/(.+))?$/, eventView, 'event'],
];

let current = null;  // { view, timer }

function showLogin(message) {
  document.getElementById('view').replaceChildren();
  document.getElementById('login').hidden = false;
  document.getElementById('login-error').textContent = message || '';
  document.getElementById('token').focus();
}

export function handleError(err, target) {
  if (err instanceof AuthError) {
    stop();
    showLogin(token() ? 'That token was not accepted.' : '');
    return;
  }
  if (target) target.replaceChildren(errorBox(err));
  const status = document.getElementById('status');
  status.textContent = 'error: ' + err.message;
  status.className = 'status status-bad';
}

function stop() {
  if (current && current.timer) clearInterval(current.timer);
  current = null;
}

async function route() {
  stop();
  const hash = location.hash || '#/';
  const [re, view, nav] = routes.find(([re]) => re.test(hash)) || routes[0];
  const params = (hash.match(re) || []).slice(1).map((p) => p && decodeURIComponent(p));
  document.querySelectorAll('nav a').forEach((a) => a.classList.toggle('active', a.dataset.nav === nav));
  const root = document.getElementById('view');
  root.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  const instance = { view, timer: null };
  current = instance;
  try {
    const refresh = await view(root, ...params);
    if (current !== instance) return;
    document.getElementById('login').hidden = true;
    document.getElementById('logout').hidden = !token();
    const status = document.getElementById('status');
    status.textContent = 'connected';
    status.className = 'status status-ok';
    if (typeof refresh === 'function') {
      instance.timer = setInterval(async () => {
        try { await refresh(); } catch (err) { handleError(err); }
      }, 1000);
    }
  } catch (err) {
    handleError(err, root);
  }
}

document.getElementById('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  setToken(document.getElementById('token').value.trim());
  document.getElementById('token').value = '';
  try {
    await get('/overview');
    document.getElementById('login').hidden = true;
    route();
  } catch (err) {
    if (err instanceof AuthError) showLogin('That token was not accepted.');
    else showLogin(err.message);
  }
});
document.getElementById('logout').addEventListener('click', () => { setToken(''); route(); });
window.addEventListener('hashchange', route);
route();
