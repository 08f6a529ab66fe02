'use strict';
/**
 * Solaris Token Control preload for an unmodified LibreChat:
 *   NODE_OPTIONS="--require /solaris/librechat-plugin/register.cjs"
 *
 * NODE_OPTIONS is inherited by every Node child process (MCP stdio servers, npm scripts, ...), so this file
 * does nothing unless the process is LibreChat's server: `node api/server/index.js` (LibreChat package.json
 * script `backend`; override with SOLARIS_HOST_ENTRY). It must never crash LibreChat: any failure is one log
 * line and LibreChat starts without token control.
 */
(function solarisRegister() {
  try {
    if (process.env.SOLARIS_DISABLED === 'true') return;
    const path = require('node:path');
    const entry = (process.env.SOLARIS_HOST_ENTRY || 'api/server/index.js').replace(/\\/g, '/').replace(/^\.?\//, '');
    const script = process.argv[1] ? path.resolve(process.argv[1]).replace(/\\/g, '/') : '';
    const matches = script !== '' && (script === entry || script.endsWith('/' + entry) || script.endsWith('/' + entry.replace(/\.js$/, '')));
    if (!matches) return;
    const bundle = process.env.SOLARIS_PLUGIN_BUNDLE || path.join(__dirname, '..', 'dist', 'plugin', 'preload.cjs');
    require(bundle).install();
  } catch (err) {
    process.stderr.write(
      JSON.stringify({
        level: 'error',
        service: 'solaris-librechat',
        message: 'Solaris preload failed; LibreChat starts without token control: ' + (err && err.message ? err.message : String(err)),
      }) + '\n',
    );
  }
})();
