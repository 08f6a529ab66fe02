/**
 * Our whole stylesheet, as a string: the widget puts it inside its Shadow DOM, library users call
 * ensureStyles(). Everything hangs off `.sol-root` so nothing leaks into the host page.
 */
export const SOLARIS_CSS = `
.sol-root{--sol-bg:#ffffff;--sol-bg2:#f4f4f5;--sol-fg:#18181b;--sol-muted:#52525b;--sol-border:#d4d4d8;--sol-accent:#2563eb;--sol-accent-fg:#fff;
--sol-ok:#15803d;--sol-warn:#b45309;--sol-block:#b91c1c;--sol-warn-bg:#fef3c7;--sol-block-bg:#fee2e2;--sol-ok-bg:#dcfce7;--sol-shadow:0 10px 30px rgba(0,0,0,.18);--sol-btn-border:#a1a1aa;
font-family:ui-sans-serif,system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;font-size:14px;line-height:1.4;color:var(--sol-fg);box-sizing:border-box}
.sol-root[data-theme="dark"]{--sol-bg:#212121;--sol-bg2:#2f2f2f;--sol-fg:#ececec;--sol-muted:#b4b4b4;--sol-border:#4a4a4a;--sol-accent:#60a5fa;--sol-accent-fg:#0b1220;
--sol-ok:#4ade80;--sol-warn:#fbbf24;--sol-block:#f87171;--sol-warn-bg:#3b2f10;--sol-block-bg:#3f1a1a;--sol-ok-bg:#12321f;--sol-shadow:0 10px 30px rgba(0,0,0,.6);--sol-btn-border:#71717a}
.sol-root *,.sol-root *::before,.sol-root *::after{box-sizing:inherit}
.sol-root :focus-visible{outline:2px solid var(--sol-accent);outline-offset:2px}
.sol-sr-only{position:absolute!important;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0}
.sol-muted{color:var(--sol-muted)}.sol-small{font-size:12px}.sol-strong{font-weight:600}
.sol-counter-wrap{position:relative;display:inline-flex;align-items:center;gap:4px}
.sol-counter{display:inline-flex;align-items:center;gap:6px;padding:4px 10px;border-radius:999px;border:1px solid var(--sol-border);background:var(--sol-bg);color:var(--sol-fg);font:inherit;font-size:12px;cursor:pointer;white-space:nowrap;min-height:28px}
.sol-counter:hover{background:var(--sol-bg2)}
.sol-counter[data-state="warning"]{border-color:var(--sol-warn);background:var(--sol-warn-bg)}
.sol-counter[data-state="blocked"]{border-color:var(--sol-block);background:var(--sol-block-bg)}
.sol-counter[data-stale="true"]{opacity:.65;border-style:dashed}
.sol-counter::before{content:attr(data-icon);font-size:11px;color:var(--sol-ok)}
.sol-counter[data-state="warning"]::before{color:var(--sol-warn)}
.sol-counter[data-state="blocked"]::before{color:var(--sol-block)}
.sol-counter[data-cap] .sol-counter-pct::before{content:"≤";font-size:11px;color:var(--sol-muted);margin-right:2px;font-weight:400}
.sol-counter[data-stale-label]::after{content:attr(data-stale-label);font-size:10px;text-transform:uppercase;color:var(--sol-muted);border:1px solid var(--sol-border);border-radius:4px;padding:0 3px}
.sol-counter-pct{font-weight:600;font-variant-numeric:tabular-nums}
.sol-counter-text{font-variant-numeric:tabular-nums}
.sol-counter-cap{font-size:11px;color:var(--sol-muted)}
.sol-counter .sol-bar{width:44px}
.sol-counter-stale{font-size:10px;text-transform:uppercase;color:var(--sol-muted);border:1px solid var(--sol-border);border-radius:4px;padding:0 3px}
.sol-tooltip{position:fixed;top:0;left:0;z-index:2147483001;background:var(--sol-fg);color:var(--sol-bg);padding:6px 8px;border-radius:6px;font-size:12px;line-height:1.35;white-space:normal;width:max-content;max-width:min(320px,calc(100vw - 16px));visibility:hidden;opacity:0;transition:opacity .12s;pointer-events:none}
.sol-counter-wrap:hover .sol-tooltip,.sol-counter-wrap:focus-within .sol-tooltip{visibility:visible;opacity:1}
.sol-bar{display:inline-block;position:relative;height:6px;min-width:40px;border-radius:999px;background:var(--sol-bg2);border:1px solid var(--sol-border);overflow:hidden;vertical-align:middle}
.sol-bar-fill{position:absolute;inset:0 auto 0 0;background:var(--sol-ok)}
.sol-bar[data-state="warning"] .sol-bar-fill{background:var(--sol-warn)}
.sol-bar[data-state="blocked"] .sol-bar-fill{background:var(--sol-block)}
.sol-badge{display:inline-flex;gap:2px;align-items:center;font-size:12px;padding:1px 8px;border-radius:999px;border:1px solid var(--sol-border);background:var(--sol-ok-bg);color:var(--sol-fg);font-weight:500}
.sol-badge[data-state="warning"]{background:var(--sol-warn-bg);border-color:var(--sol-warn)}
.sol-badge[data-state="blocked"]{background:var(--sol-block-bg);border-color:var(--sol-block)}
.sol-tag{display:inline-block;margin-left:6px;font-size:11px;padding:0 6px;border-radius:4px;border:1px dashed var(--sol-border);color:var(--sol-muted)}
.sol-overlay{position:fixed;inset:0;width:100vw;height:100vh;height:100dvh;z-index:2147483000;background:rgba(0,0,0,.55);display:flex;align-items:center;justify-content:center;padding:16px;overflow:hidden}
.sol-dialog{background:var(--sol-bg);color:var(--sol-fg);border:1px solid var(--sol-border);border-radius:14px;box-shadow:var(--sol-shadow);padding:20px;max-height:calc(100vh - 32px);max-height:calc(100dvh - 32px);overflow:auto;overscroll-behavior:contain;width:100%;min-width:0}
.sol-dialog:focus{outline:none}
.sol-dialog-sm{max-width:440px}.sol-dialog-md{max-width:640px}.sol-dialog-lg{max-width:980px}
.sol-overlay[data-size="full"]{padding:0}
.sol-dialog-full{max-width:none;height:100vh;height:100dvh;max-height:none;border-radius:0}
@media (max-width:600px){.sol-overlay{padding:8px}.sol-dialog{padding:14px;max-height:calc(100dvh - 16px)}.sol-overlay[data-size="lg"]{padding:0}.sol-dialog-lg{height:100dvh;max-height:none;border-radius:0;border:0}.sol-dialog-title{font-size:17px}}
.sol-dialog-head{display:flex;align-items:flex-start;justify-content:space-between;gap:12px;margin-bottom:6px}
.sol-dialog-title{font-size:18px;font-weight:650;margin:0}
.sol-dialog p{margin:8px 0}
.sol-actions{display:flex;justify-content:flex-end;gap:8px;margin-top:16px;flex-wrap:wrap}
.sol-btn{display:inline-flex;align-items:center;justify-content:center;gap:4px;font:inherit;font-weight:500;padding:6px 14px;border-radius:999px;border:1px solid var(--sol-btn-border,#a1a1aa);background:var(--sol-bg);color:var(--sol-fg);cursor:pointer;text-decoration:none;min-height:34px;box-shadow:0 1px 2px rgba(0,0,0,.08);white-space:nowrap;max-width:100%}
.sol-btn:hover{background:var(--sol-bg2)}
.sol-btn:disabled{opacity:.5;cursor:not-allowed}
.sol-btn-primary{background:var(--sol-accent);border-color:var(--sol-accent);color:var(--sol-accent-fg);font-weight:600}
.sol-btn-primary:hover{background:var(--sol-accent);filter:brightness(1.08)}
.sol-btn-danger{border-color:var(--sol-block);color:var(--sol-block)}
.sol-btn-small{padding:2px 8px;min-height:26px;font-size:12px;margin-left:8px}
.sol-icon-btn{font:inherit;font-size:18px;line-height:1;width:32px;height:32px;border-radius:8px;border:1px solid transparent;background:transparent;color:var(--sol-fg);cursor:pointer;display:inline-flex;align-items:center;justify-content:center}
.sol-icon-btn:hover{background:var(--sol-bg2);border-color:var(--sol-border)}
.sol-admin-btn{width:28px;height:28px;font-size:15px;border-color:var(--sol-border);background:var(--sol-bg)}
.sol-link,.sol-link-btn{color:var(--sol-accent);text-decoration:underline;background:none;border:0;padding:0;font:inherit;cursor:pointer;text-align:left}
.sol-filters{display:flex;flex-wrap:wrap;gap:10px;align-items:flex-end;margin:12px 0}
.sol-filters>label{flex:1 1 160px;min-width:0}.sol-filters>label.sol-filter-period{flex:2 1 250px}
.sol-filters label,.sol-forms label,.sol-plan label{display:flex;flex-direction:column;gap:2px;font-size:12px;color:var(--sol-muted)}
.sol-grow{flex:1 1 240px}
.sol-root input,.sol-root select{font:inherit;font-size:14px;color:var(--sol-fg);background:var(--sol-bg);border:1px solid var(--sol-border);border-radius:8px;padding:5px 8px;min-height:32px;min-width:0;max-width:100%}
.sol-check{flex-direction:row!important;align-items:center;gap:6px!important}
.sol-check input{min-height:auto}
.sol-plan-weights{flex:1 1 min(260px,100%);display:flex;flex-direction:column;gap:2px;min-width:0}
.sol-plan>*,.sol-row>*,.sol-card>*{min-width:0;max-width:100%}
.sol-root textarea{max-width:100%;width:100%}
@media (max-width:600px){.sol-plan>label{flex:1 1 100%}.sol-plan>label input,.sol-plan>label select{width:100%}}
.sol-plan-weights small{font-size:11px;color:var(--sol-muted)}
.sol-plan-weights .sol-field-error{color:var(--sol-block)}
.sol-filter-buttons{display:flex;gap:6px;flex-wrap:wrap}
.sol-totals{display:flex;flex-wrap:wrap;gap:8px 20px;margin:10px 0;padding:10px 12px;border:1px solid var(--sol-border);border-radius:10px;background:var(--sol-bg2)}
.sol-totals div{display:flex;flex-direction:column}
.sol-totals dt{font-size:11px;color:var(--sol-muted);text-transform:uppercase;letter-spacing:.03em}
.sol-totals dd{margin:0;font-weight:600;font-variant-numeric:tabular-nums}
.sol-table-wrap{overflow-x:auto;border:1px solid var(--sol-border);border-radius:10px;margin:8px 0;container-type:inline-size}
.sol-table{border-collapse:collapse;width:100%;font-size:13px}
.sol-table th,.sol-table td{padding:6px 10px;border-bottom:1px solid var(--sol-border);text-align:left;vertical-align:top}
.sol-table thead th{position:sticky;top:0;background:var(--sol-bg2);font-weight:600;z-index:1}
.sol-table .sol-num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.sol-usage-cell{min-width:150px}.sol-usage-cell .sol-bar{width:100%;display:block;margin-bottom:2px}
/* Tables whose columns do not fit become stacked cards: one card per row, each cell "label: value". */
@container (max-width:640px){
.sol-table.sol-cards-narrow thead{display:none}
.sol-table.sol-cards-narrow,.sol-table.sol-cards-narrow tbody,.sol-table.sol-cards-narrow tr,.sol-table.sol-cards-narrow td{display:block;width:100%}
.sol-table.sol-cards-narrow tr{padding:8px 12px;border-bottom:1px solid var(--sol-border)}
.sol-table.sol-cards-narrow tr:last-child{border-bottom:0}
.sol-table.sol-cards-narrow td{display:flex;justify-content:space-between;align-items:baseline;gap:12px;padding:3px 0;border:0;text-align:right;min-width:0;overflow-wrap:anywhere}
.sol-table.sol-cards-narrow td::before{content:attr(data-label);color:var(--sol-muted);font-size:12px;text-align:left;flex:0 0 auto;max-width:45%}
.sol-table.sol-cards-narrow td[data-label=""]::before{display:none}
.sol-table.sol-cards-narrow td.sol-card-title{font-weight:600;text-align:left;justify-content:flex-start;flex-wrap:wrap}
.sol-table.sol-cards-narrow td.sol-card-title::before{display:none}
.sol-table.sol-cards-narrow .sol-usage-cell{min-width:0;flex-wrap:wrap}.sol-table.sol-cards-narrow .sol-usage-cell .sol-bar{order:2;flex-basis:100%}
}
.sol-empty{padding:24px;text-align:center;color:var(--sol-muted);border:1px dashed var(--sol-border);border-radius:10px}
.sol-error{display:flex;align-items:center;gap:4px;flex-wrap:wrap;padding:8px 12px;border-radius:8px;border:1px solid var(--sol-block);background:var(--sol-block-bg);color:var(--sol-fg);margin:8px 0}
.sol-notice{padding:8px 12px;border-radius:8px;border:1px solid var(--sol-ok);background:var(--sol-ok-bg)}
.sol-chart{margin:12px 0;padding:10px;border:1px solid var(--sol-border);border-radius:10px;min-width:0}
.sol-chart-box{width:100%}.sol-chart-box svg{display:block}
.sol-chart figcaption{font-size:12px;color:var(--sol-muted);margin-bottom:6px}
.sol-chart-bar{fill:var(--sol-accent)}.sol-chart-axis{stroke:var(--sol-muted)}.sol-chart-grid{stroke:var(--sol-border);stroke-dasharray:3 3}
.sol-chart-label,.sol-chart-value{fill:var(--sol-muted);font-size:11px}
.sol-tabs{display:flex;gap:2px 4px;border-bottom:1px solid var(--sol-border);margin:10px 0;flex-wrap:wrap}
.sol-tab{flex:0 0 auto}
.sol-tab{font:inherit;padding:8px 14px;border:0;border-bottom:3px solid transparent;background:none;color:var(--sol-muted);cursor:pointer}
.sol-tab[aria-selected="true"]{color:var(--sol-fg);border-bottom-color:var(--sol-accent);font-weight:600}
.sol-forms{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(220px,100%),1fr));gap:12px;margin:12px 0}
.sol-forms form,.sol-plan{display:flex;flex-direction:column;gap:8px;padding:12px;border:1px solid var(--sol-border);border-radius:10px;min-width:0}
.sol-forms form>.sol-btn{align-self:flex-start;margin-top:auto}
.sol-plan{flex-direction:row;flex-wrap:wrap;align-items:flex-end;margin-bottom:8px}
.sol-forms h4,.sol-plans h4{margin:0 0 4px;font-size:14px}
.sol-h3{font-size:16px;margin:12px 0 6px;display:flex;gap:8px;align-items:center}
.sol-feed{list-style:none;padding:0;margin:0}.sol-feed li{padding:6px 0;border-bottom:1px solid var(--sol-border)}
.sol-root code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}
.sol-detail-bar{max-width:360px}.sol-detail-bar .sol-bar{width:100%;height:8px}
.sol-dock{display:inline-flex;align-items:center;gap:4px}
.sol-dock-nav-user{flex-direction:column;gap:2px}
.sol-dock-nav-user .sol-counter{flex-direction:column;gap:2px;padding:4px 6px;border-radius:10px;font-size:11px}
.sol-dock-nav-user .sol-counter .sol-bar{width:32px;min-width:32px}
.sol-dock-floating .sol-counter{box-shadow:0 2px 8px rgba(0,0,0,.15)}
.sol-root textarea{font:inherit;font-size:14px;color:var(--sol-fg);background:var(--sol-bg);border:1px solid var(--sol-border);border-radius:8px;padding:5px 8px;resize:vertical;min-height:52px}
.sol-count{display:inline-flex;align-items:center;justify-content:center;min-width:18px;height:18px;padding:0 5px;margin-left:6px;border-radius:999px;background:var(--sol-block);color:#fff;font-size:11px;font-weight:700;font-variant-numeric:tabular-nums}
.sol-admin-btn{position:relative}.sol-admin-btn .sol-count{position:absolute;top:-6px;right:-8px;margin:0}
.sol-toasts{position:fixed;top:12px;right:12px;z-index:2147483001;display:flex;flex-direction:column;gap:8px;max-width:min(420px,calc(100vw - 24px))}
.sol-toast{display:flex;gap:10px;align-items:flex-start;padding:12px 14px;border-radius:12px;border:1px solid var(--sol-ok);border-left-width:5px;background:var(--sol-bg);color:var(--sol-fg);box-shadow:var(--sol-shadow)}
.sol-toast[data-kind="denied"]{border-color:var(--sol-block)}
.sol-toast-icon{font-size:16px;line-height:1.3;color:var(--sol-ok)}.sol-toast[data-kind="denied"] .sol-toast-icon{color:var(--sol-block)}
.sol-toast-body{flex:1}.sol-toast-body p{margin:2px 0 0}
.sol-card{display:flex;flex-direction:column;gap:8px;padding:12px;border:1px solid var(--sol-border);border-radius:10px;margin:10px 0}
.sol-card h3,.sol-card h4{margin:0;font-size:15px}
.sol-card label{display:flex;flex-direction:column;gap:2px;font-size:12px;color:var(--sol-muted)}
.sol-cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(260px,100%),1fr));gap:0 12px}
.sol-row{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-end}
.sol-field{display:flex;flex-direction:column;gap:2px;min-width:120px}
.sol-auto-row{display:grid;grid-template-columns:minmax(0,1fr) auto;gap:8px;align-items:end}
.sol-pager{display:flex;align-items:center;gap:8px;flex-wrap:wrap;margin:8px 0}
.sol-audit-details{margin:0;padding:0;list-style:none}.sol-audit-details li{margin:0}
.sol-counter-left{font-variant-numeric:tabular-nums;color:var(--sol-muted)}
.sol-dock-nav-user .sol-counter-left{display:flex;flex-direction:column;align-items:center;line-height:1.1;font-size:10px}
.sol-row-top{align-items:flex-start}.sol-stack{display:flex;flex-direction:column;gap:8px}.sol-field-narrow{flex:0 1 150px}
.sol-warn-note{padding:8px 12px;border-radius:8px;border:1px solid var(--sol-warn);background:var(--sol-warn-bg)}
.sol-ok-note{padding:8px 12px;border-radius:8px;border:1px solid var(--sol-ok);background:var(--sol-ok-bg)}
.sol-status{display:inline-block;font-size:12px;padding:0 6px;border-radius:4px;border:1px solid var(--sol-border)}
.sol-status[data-status="approved"]{border-color:var(--sol-ok);background:var(--sol-ok-bg)}
.sol-status[data-status="denied"]{border-color:var(--sol-block);background:var(--sol-block-bg)}
.sol-status[data-status="pending"]{border-color:var(--sol-warn);background:var(--sol-warn-bg)}
.sol-secret{display:flex;gap:8px;align-items:center;flex-wrap:wrap;padding:10px 12px;border:1px dashed var(--sol-warn);border-radius:8px;background:var(--sol-warn-bg)}
.sol-secret code{font-size:13px;word-break:break-all;user-select:all}
.sol-events{display:flex;flex-wrap:wrap;gap:4px 12px;border:0;padding:0;margin:0}
.sol-events legend{font-size:12px;color:var(--sol-muted);padding:0;margin-bottom:2px}
@media (prefers-reduced-motion:reduce){.sol-tooltip{transition:none}}
`;
