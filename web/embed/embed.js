/* Referflow embeddable referral form (docs/embed.md). One tag:
   <script src="https://API/embed.js" data-program="ID" async></script> */
(() => {
  'use strict';
  const COOKIE = 'referflow_ref';
  const CODE = /^[A-Za-z0-9_.-]{1,64}$/;
  const TEXT = {
    en: ['Name', 'Work email', 'Company', 'Phone', 'Message', 'Referral code', 'Fields marked * are required.',
      'Send referral', 'Thank you! We received the referral.', 'Track this referral',
      'Please correct the marked fields.', 'The referral could not be sent. Check your connection and try again.',
      'Leave this field empty', 'This company has already been referred.', 'This referral code is not known.'],
    fr: ['Nom', 'E-mail professionnel', 'Entreprise', 'Téléphone', 'Message', 'Code de parrainage',
      'Les champs marqués * sont obligatoires.', 'Envoyer', 'Merci ! Nous avons bien reçu la recommandation.',
      'Suivre cette recommandation', 'Veuillez corriger les champs indiqués.',
      "L'envoi a échoué. Vérifiez votre connexion et réessayez.", 'Laissez ce champ vide',
      'Cette entreprise a déjà été recommandée.', 'Ce code de parrainage est inconnu.'],
    de: ['Name', 'Geschäftliche E-Mail', 'Firma', 'Telefon', 'Nachricht', 'Empfehlungscode',
      'Mit * markierte Felder sind Pflichtfelder.', 'Empfehlung senden', 'Danke! Wir haben die Empfehlung erhalten.',
      'Empfehlung verfolgen', 'Bitte korrigieren Sie die markierten Felder.',
      'Die Empfehlung konnte nicht gesendet werden. Bitte prüfen Sie Ihre Verbindung.', 'Dieses Feld leer lassen',
      'Diese Firma wurde bereits empfohlen.', 'Dieser Empfehlungscode ist unbekannt.'],
  };
  // name, input type, autocomplete, required, label index
  const FIELDS = [
    ['referee_name', 'text', 'name', 0, 0], ['referee_email', 'email', 'email', 1, 1],
    ['referee_company', 'text', 'organization', 1, 2], ['referee_phone', 'tel', 'tel', 0, 3],
    ['message', 'textarea', 'off', 0, 4], ['referrer_code', 'text', 'off', 1, 5],
  ];
  const STYLE = '.rf-form,.rf-done{max-width:36rem;font:inherit;color:inherit}' +
    '.rf-field{margin:0 0 1rem}.rf-form label{display:block;font-weight:600;margin:0 0 .25rem}' +
    '.rf-form input,.rf-form textarea{box-sizing:border-box;width:100%;padding:.5rem;font:inherit;color:#111;' +
    'background:#fff;border:1px solid #6b7280;border-radius:4px}.rf-form textarea{min-height:5rem}' +
    '.rf-form [aria-invalid=true]{border:2px solid #b00020}.rf-error,.rf-req,.rf-status{color:#b00020}' +
    '.rf-error{margin:.25rem 0 0}.rf-status:empty{display:none}.rf-status{font-weight:600}' +
    '.rf-submit{font:inherit;padding:.6rem 1.2rem;border:0;border-radius:4px;background:#1d4ed8;color:#fff;cursor:pointer}' +
    '.rf-submit[disabled]{opacity:.7}.rf-form :focus-visible,.rf-done:focus{outline:3px solid #1d4ed8;outline-offset:2px}' +
    '.rf-done{padding:.75rem 1rem;border-left:6px solid #047857;background:#fff;color:#111}.rf-done p{margin:.25rem 0}' +
    '.rf-done p:first-child{font-weight:700}.rf-done a{color:#1d4ed8}';
  let seq = 0;

  const h = (tag, attrs, ...kids) => {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== false) el.setAttribute(k, v === true ? '' : v);
    for (const kid of kids) if (kid !== null) el.append(kid);
    return el;
  };

  // The referral code of this visit: from the page URL or the cookie, by
  // the program's attribution rule; the cookie is (re)written as it says.
  const attribute = (param, days, rule) => {
    let link = new URLSearchParams(location.search).get(param) || '';
    const m = document.cookie.match(new RegExp('(?:^|;\\s*)' + COOKIE + '=([^;]*)'));
    let saved = m ? decodeURIComponent(m[1]) : '';
    if (!CODE.test(link)) link = '';
    if (!CODE.test(saved)) saved = '';
    const code = rule === 'first' ? saved || link : link || saved;
    if (link && code === link && days > 0) {
      document.cookie = COOKIE + '=' + encodeURIComponent(link) + '; Max-Age=' + Math.round(days * 86400) +
        '; Path=/; SameSite=Lax' + (location.protocol === 'https:' ? '; Secure' : '');
    }
    return code;
  };

  const codeOf = (api, ds) => {
    const given = ds.param && ds.cookieDays && ds.attribution;
    const fetched = given ? Promise.resolve({}) :
      fetch(api + '/embed/settings/' + encodeURIComponent(ds.program || ''), { headers: { Accept: 'application/json' } })
        .then((r) => (r.ok ? r.json() : {})).catch(() => ({}));
    return fetched.then((s) => {
      const days = ds.cookieDays !== undefined ? Number(ds.cookieDays) : s.cookie_days;
      return attribute(ds.param || s.param || 'ref', Number.isFinite(days) ? days : 90, ds.attribution || s.attribution || 'last');
    });
  };

  const render = (api, ds, t) => {
    const id = 'rf' + ++seq;
    const form = h('form', { class: 'rf-form', action: api + '/referrals', method: 'post', lang: ds.lang || null },
      h('p', { class: 'rf-note' }, t[6]), h('input', { type: 'hidden', name: 'program', value: ds.program || '' }));
    for (const [name, type, auto, req, label] of FIELDS) {
      const fid = id + '-' + name;
      const input = type === 'textarea' ? h('textarea', { id: fid, name, rows: 4 }) :
        h('input', { id: fid, name, type, autocomplete: auto, required: !!req, spellcheck: type === 'email' ? 'false' : null });
      form.append(h('div', { class: 'rf-field' },
        h('label', { for: fid }, t[label], req ? h('span', { class: 'rf-req', 'aria-hidden': 'true' }, ' *') : null), input));
    }
    form.append(h('div', { hidden: true }, h('label', { for: id + '-hp' }, t[12]),
      h('input', { id: id + '-hp', name: '_gotcha', tabindex: '-1', autocomplete: 'off' })));
    form.append(h('button', { type: 'submit', class: 'rf-submit' }, t[7]));
    return form;
  };

  const labelOf = (input) => ((input.labels && input.labels[0] && input.labels[0].textContent) || input.name).replace(/\s*\*\s*$/, '');

  const newKey = () => (crypto.randomUUID ? crypto.randomUUID() :
    Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join(''));

  // enhance makes form post JSON to the API and show the answer in place.
  const enhance = (form, api, ds, t, code) => {
    const status = h('div', { class: 'rf-status', role: 'status', 'aria-live': 'polite', tabindex: '-1' });
    const button = form.querySelector('[type=submit]');
    let before = button;
    while (before && before.parentNode !== form) before = before.parentNode;
    form.insertBefore(status, before);
    form.noValidate = true;
    let busy = false;
    let last = {};
    const invalid = [];
    const clear = () => {
      status.textContent = '';
      for (const [input, err] of invalid.splice(0)) {
        input.removeAttribute('aria-invalid');
        err.hidden = true;
        err.textContent = '';
      }
    };
    const mark = (input, text) => {
      const eid = (input.id || (input.id = 'rf' + ++seq + '-' + input.name)) + '-error';
      let err = document.getElementById(eid);
      if (!err) input.after(err = h('p', { id: eid, class: 'rf-error' }));
      err.hidden = false;
      err.textContent = text;
      input.setAttribute('aria-invalid', 'true');
      const by = (input.getAttribute('aria-describedby') || '').split(' ').filter((x) => x && x !== eid);
      input.setAttribute('aria-describedby', by.concat(eid).join(' '));
      invalid.push([input, err]);
    };
    const say = (text) => {
      status.textContent = text;
      status.focus();
    };
    code.then((c) => {
      const field = form.elements.referrer_code;
      if (c && field && !field.value) field.value = c;
    });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (busy) return;
      busy = true;
      if (button) button.disabled = true;
      clear();
      try {
        const data = {};
        new FormData(form).forEach((v, k) => { if (typeof v === 'string') data[k] = v; });
        if (!data.program && ds.program) data.program = ds.program;
        if (!data.referrer_code) data.referrer_code = (await code) || '';
        const body = JSON.stringify(data);
        if (body !== last.body) last = { body, key: newKey() };
        let res;
        let json = {};
        try {
          res = await fetch(api + '/referrals', {
            method: 'POST', body,
            headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'Idempotency-Key': last.key },
          });
          json = await res.json().catch(() => ({}));
        } catch (err) {
          return say(t[11]);
        }
        if (res.ok) return done(form, api, ds, t, json);
        const er = json.error || {};
        const rest = [];
        for (const [name, msg] of Object.entries(er.fields || {})) {
          const input = form.elements[name];
          if (input && input.type !== 'hidden' && input.name !== '_gotcha') mark(input, labelOf(input) + ' ' + msg + '.');
          else rest.push(name.replace(/_/g, ' ') + ' ' + msg + '.');
        }
        const known = { duplicate_referral: t[13], unknown_referrer: t[14] }[er.code];
        if (invalid.length && !rest.length) {
          status.textContent = t[10];
          return invalid[0][0].focus();
        }
        const msg = known || er.message || t[11];
        say([msg.charAt(0).toUpperCase() + msg.slice(1)].concat(rest).join(' '));
      } finally {
        busy = false;
        if (button && form.isConnected) button.disabled = false;
      }
    });
  };

  // done shows the confirmation with the tracking link, in place of the
  // form, unless the site handles the referflow:submitted event itself.
  const done = (form, api, ds, t, json) => {
    const ev = new CustomEvent('referflow:submitted', { bubbles: true, cancelable: true, detail: json });
    if (!form.dispatchEvent(ev)) return;
    const box = h('div', { class: 'rf-done', tabindex: '-1', lang: ds.lang || null }, h('p', {}, ds.thankYou || t[8]));
    if (json.status_url) box.append(h('p', {}, h('a', { href: api + json.status_url }, t[9])));
    form.replaceWith(box);
    box.focus();
  };

  const start = (me) => {
    if (me.dataset.referflowDone) return;
    me.dataset.referflowDone = '1';
    const ds = me.dataset;
    const api = me.src.replace(/\/embed(?:\.js|\/[\w.-]+\.js)(?:[?#].*)?$/, '');
    const t = TEXT[(ds.lang || 'en').slice(0, 2).toLowerCase()] || TEXT.en;
    const code = codeOf(api, ds);
    const place = () => {
      if (ds.style !== 'none' && !document.getElementById('referflow-style')) {
        const style = h('style', { id: 'referflow-style' }, STYLE);
        if (me.nonce) style.nonce = me.nonce;
        document.head.append(style);
      }
      const target = ds.target ? document.querySelector(ds.target) : null;
      const own = target && target.matches('form') ? target :
        (target || document).querySelector('form[data-referflow]');
      if (own) return enhance(own, api, ds, t, code);
      const form = render(api, ds, t);
      if (target) target.append(form);
      else if (me.parentNode && me.parentNode !== document.head) me.after(form);
      else document.body.append(form);
      enhance(form, api, ds, t, code);
    };
    if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', place);
    else place();
  };

  if (document.currentScript) start(document.currentScript);
  else document.querySelectorAll('script[data-program][src*="embed"]').forEach(start);
})();
