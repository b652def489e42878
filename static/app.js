// CoachFlux's only script: small enhancements over pages that already work without it.
//   - a live character counter under every text box that has a limit ([data-counter]);
//   - list answers entered item by item ([data-list] text areas stay the form field, one item
//     per line, so the server sees exactly what it sees without JavaScript);
//   - streamed coach replies (form[data-stream]);
//   - Done / Reopen on action items through the JSON API, updating the card in place;
//   - action filters applied when a choice changes;
//   - a date box's reading shown as the person types ([data-date-preview]);
//   - the browser's time zone in a cookie, for the days dates are read and shown in;
//   - after a turn: the coach's message announced, the answer box focused; Ctrl/⌘+Enter sends;
//   - Copy and Print buttons ([data-copy], [data-print]).
'use strict';

(function () {
  function counter(field) {
    var hint = document.getElementById(field.getAttribute('data-counter'));
    var max = parseInt(field.getAttribute('maxlength'), 10);
    if (!hint || !max) return;
    var update = function () {
      var left = max - field.value.length;
      hint.textContent = left + ' of ' + max + ' characters left';
      hint.classList.toggle('hint-warn', left <= Math.min(50, max / 10));
    };
    field.addEventListener('input', update);
    update();
  }

  function items(area) {
    return area.value.split('\n').map(function (s) { return s.trim(); }).filter(Boolean);
  }

  function listEntry(area) {
    var max = parseInt(area.getAttribute('maxlength'), 10) || 2000;
    var wrap = document.createElement('div');
    wrap.className = 'list-entry';
    var list = document.createElement('ul');
    list.className = 'list-items';
    list.setAttribute('aria-label', 'Your items');
    var row = document.createElement('div');
    row.className = 'list-add';
    var input = document.createElement('input');
    input.type = 'text';
    input.id = area.id + '-item';
    // Each item has its own limit, and the question takes so many items at most.
    var itemMax = parseInt(area.getAttribute('data-item-max'), 10) || max;
    var most = parseInt(area.getAttribute('data-max-items'), 10) || 0;
    input.maxLength = Math.min(itemMax, max);
    var full = document.createElement('p');
    full.className = 'hint';
    full.setAttribute('aria-live', 'polite');
    input.placeholder = 'Type one item, then Add';
    var label = document.querySelector('label[for="' + area.id + '"]');
    if (label) {
      label.htmlFor = input.id;
      var note = label.querySelector('.list-note');
      if (note) note.textContent = '(add them one at a time)';
    }
    else input.setAttribute('aria-label', 'New item');
    var hint = area.getAttribute('aria-describedby');
    if (hint) input.setAttribute('aria-describedby', hint);
    var add = document.createElement('button');
    add.type = 'button';
    add.className = 'button button-secondary button-small';
    add.textContent = 'Add';
    row.appendChild(input);
    row.appendChild(add);
    wrap.appendChild(list);
    wrap.appendChild(row);
    wrap.appendChild(full);

    var render = function () {
      list.textContent = '';
      items(area).forEach(function (text, i) {
        var li = document.createElement('li');
        var span = document.createElement('span');
        span.textContent = text;
        var remove = document.createElement('button');
        remove.type = 'button';
        remove.className = 'link-button';
        remove.textContent = 'Remove';
        remove.setAttribute('aria-label', 'Remove ' + text);
        remove.addEventListener('click', function () {
          var all = items(area);
          all.splice(i, 1);
          area.value = all.join('\n');
          area.dispatchEvent(new Event('input'));
          render();
          input.focus();
        });
        li.appendChild(span);
        li.appendChild(remove);
        list.appendChild(li);
      });
      list.hidden = list.children.length === 0;
      // The hidden text area can't show a validation message; the item box asks instead.
      input.required = list.hidden;
      var atMost = most > 0 && list.children.length >= most;
      // Refused in push(), not disabled: a disabled box would drop the keyboard's focus.
      input.setAttribute('aria-disabled', String(atMost));
      add.setAttribute('aria-disabled', String(atMost));
      full.textContent = atMost ? 'That\'s ' + most + ', the most this question takes: remove one to add another.' : '';
    };
    var push = function () {
      var text = input.value.trim();
      if (!text || (most > 0 && items(area).length >= most)) return false;
      var next = items(area).concat([text]).join('\n');
      if (next.length > max) return false;
      area.value = next;
      area.dispatchEvent(new Event('input'));
      input.value = '';
      render();
      return true;
    };
    add.addEventListener('click', function () { push(); input.focus(); });
    input.addEventListener('keydown', function (e) {
      if (e.key === 'Enter') {
        e.preventDefault();
        push();
      }
    });
    // Sending with an item still typed in the box keeps it.
    area.form.addEventListener('submit', function () { push(); });
    area.parentNode.insertBefore(wrap, area);
    area.required = false;
    area.hidden = true;
    render();
  }

  // With the AI coach on, the reply streams in (Server-Sent Events over fetch) and the page
  // then reloads the conversation; any failure falls back to the normal post.
  function streaming(form) {
    var token = document.querySelector('meta[name="csrf-token"]');
    form.addEventListener('submit', function (e) {
      if (!window.fetch || !window.TextDecoder || !token) return;
      e.preventDefault();
      var body = new URLSearchParams(new FormData(form));
      var send = form.querySelector('button[type=submit]');
      if (send) send.disabled = true;
      var talk = document.querySelector('.conversation');
      var mine = document.createElement('div');
      mine.className = 'bubble bubble-person';
      mine.textContent = body.get('input') || '';
      var reply = document.createElement('div');
      reply.className = 'bubble bubble-coach streaming';
      reply.setAttribute('aria-live', 'polite');
      var prompt = document.getElementById('prompt');
      if (prompt) prompt.remove();
      talk.appendChild(mine);
      talk.appendChild(reply);
      fetch(form.action, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Accept': 'text/event-stream', 'X-CSRF-Token': token.content },
        body: body
      }).then(function (res) {
        if (!res.ok || !res.body) throw new Error('status ' + res.status);
        var reader = res.body.getReader();
        var decoder = new TextDecoder();
        var buffer = '';
        var finished = false;
        function handle(block) {
          var name = 'message';
          var data = '';
          block.split('\n').forEach(function (line) {
            if (line.indexOf('event:') === 0) name = line.slice(6).trim();
            else if (line.indexOf('data:') === 0) data += line.slice(5).trim();
          });
          if (!data) return;
          var value = JSON.parse(data);
          if (name === 'delta') reply.textContent += value;
          else if (name === 'reset') reply.textContent = '';
          else if (name === 'done') { finished = true; window.location.hash = 'answer'; window.location.reload(); }
          else if (name === 'error') { finished = true; reply.textContent = value.message; if (send) send.disabled = false; }
        }
        function pump() {
          return reader.read().then(function (r) {
            if (r.done) { if (!finished) window.location.reload(); return; }
            buffer += decoder.decode(r.value, { stream: true });
            var end;
            while ((end = buffer.indexOf('\n\n')) >= 0) {
              handle(buffer.slice(0, end));
              buffer = buffer.slice(end + 2);
            }
            return pump();
          });
        }
        return pump();
      }).catch(function () {
        mine.remove();
        reply.remove();
        form.submit();
      });
    });
  }

  // Done / Reopen through the JSON API with the session cookie and the page's CSRF token; the
  // card changes in place. Any failure falls back to the form's normal post.
  function actionToggle(form) {
    var token = document.querySelector('meta[name="csrf-token"]');
    form.addEventListener('submit', function (e) {
      if (!window.fetch || !token) return;
      e.preventDefault();
      var id = form.getAttribute('data-toggle-action');
      var completed = form.getAttribute('data-completed') !== 'true';
      fetch('/api/v1/actions/' + encodeURIComponent(id), {
        method: 'PATCH',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRF-Token': token.content },
        body: JSON.stringify({ completed: completed })
      }).then(function (res) {
        if (!res.ok) throw new Error('status ' + res.status);
        return res.json();
      }).then(function (item) {
        var card = form.closest('.action');
        var button = form.querySelector('button[type=submit]');
        form.setAttribute('data-completed', String(item.completed));
        form.action = '/actions/' + id + '/' + (item.completed ? 'reopen' : 'complete');
        card.classList.toggle('action-done', item.completed);
        card.classList.toggle('action-overdue', !!item.overdue);
        button.setAttribute('aria-pressed', String(item.completed));
        button.title = item.completed ? 'Done: press to reopen' : 'Mark as done';
        var head = form.parentNode;
        head.querySelectorAll('.badge').forEach(function (b) { b.remove(); });
        var badge = function (cls, text) {
          var span = document.createElement('span');
          span.className = 'badge ' + cls;
          span.textContent = text;
          head.appendChild(span);
        };
        if (item.overdue) badge('badge-advanced', 'Overdue');
        if (item.completed) badge('badge-beginner', 'Done');
        button.focus();
      }).catch(function () { form.submit(); });
    });
  }

  // The browser's time zone, so that "Friday" is this person's Friday: kept in a cookie the
  // server reads (a zone the member chose wins over it), and shown in the settings field while
  // they have not chosen one (as its placeholder: saving the form doesn't choose it for them).
  var zone = '';
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ''; } catch (e) { zone = ''; }
  if (/^[A-Za-z0-9_\/+-]{1,64}$/.test(zone) && document.cookie.indexOf('cf_tz=' + zone) === -1) {
    document.cookie = 'cf_tz=' + zone + '; path=/; max-age=31536000; samesite=lax' +
      (location.protocol === 'https:' ? '; secure' : '');
  }
  document.querySelectorAll('input[data-detect-zone]').forEach(function (input) {
    if (!input.value && zone) input.placeholder = zone + ' (your browser)';
  });

  // After a turn the page comes back at #answer: the coach's new message is said to screen
  // readers (a live region) and the cursor waits in the answer box. Ctrl/⌘+Enter sends.
  if (location.hash === '#answer') {
    var bubbles = document.querySelectorAll('.conversation .bubble-coach');
    var said = bubbles[bubbles.length - 1];
    var live = document.getElementById('coach-live');
    var box = document.querySelector('#answer textarea:not([hidden]), #answer input[type=text], #answer input[type=radio]');
    // After the browser has scrolled to the answer (which would take the focus back).
    setTimeout(function () {
      if (said && live) live.textContent = said.textContent;
      if (box) box.focus();
    }, 150);
  }
  var answerForm = document.querySelector('#answer form[action$="/turn"]');
  if (answerForm) {
    answerForm.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        if (answerForm.requestSubmit) answerForm.requestSubmit(); else answerForm.submit();
      }
    });
  }

  // Copy and Print buttons: hidden without JavaScript (the page says what to do instead).
  function copied(button, ok) {
    var status = button.parentNode.querySelector('[data-copy-status]');
    if (status) status.textContent = ok ? 'Copied.' : 'Select the text and copy it.';
  }
  document.querySelectorAll('button[data-copy]').forEach(function (button) {
    var source = document.getElementById(button.getAttribute('data-copy'));
    if (!source) return;
    button.hidden = false;
    button.addEventListener('click', function () {
      var text = (source.innerText || source.textContent).trim();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { copied(button, true); },
          function () { copied(button, false); });
        return;
      }
      // Plain http on another machine has no clipboard API: select the text and copy it.
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      var ok = false;
      try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
      copied(button, ok);
    });
  });
  document.querySelectorAll('button[data-print]').forEach(function (button) {
    button.hidden = false;
    button.addEventListener('click', function () { window.print(); });
  });

  // Filters apply as soon as a choice changes (the button stays for the text box and for
  // browsers without JavaScript).
  // A pause first: arrow keys step through a closed list firing "change" at every option, and a
  // keyboard user must reach the one they want before the page reloads. The form says so.
  document.querySelectorAll('form[data-apply-on-change]').forEach(function (form) {
    var timer = null;
    var note = document.createElement('p');
    note.className = 'hint';
    note.textContent = 'Choices apply a moment after you make them.';
    form.appendChild(note);
    form.querySelectorAll('select').forEach(function (select) {
      select.addEventListener('change', function () {
        clearTimeout(timer);
        timer = setTimeout(function () { form.submit(); }, 900);
      });
    });
  });
  // A date box says how it reads as the person types ("by Friday" → "Fri 16 Jan 2026"): the
  // server reads it, the same way it will when the form is sent.
  function datePreview(field) {
    var hint = document.getElementById(field.getAttribute('data-date-preview'));
    if (!hint || !window.fetch) return;
    var original = hint.textContent;
    var timer = null;
    var asked = 0;
    field.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var text = field.value.trim();
        var mine = ++asked;
        if (!text) { hint.textContent = original; return; }
        fetch('/dates/preview?text=' + encodeURIComponent(text), {
          credentials: 'same-origin', headers: { 'Accept': 'application/json' }
        }).then(function (res) { return res.ok ? res.json() : null; }).then(function (d) {
          if (mine !== asked || !d) return;
          hint.textContent = d.date ? 'Reads as ' + d.date : 'Not a date yet: try "Friday", "in 3 days" or 2026-03-01';
        }).catch(function () { /* the form still works: the server reads it on send */ });
      }, 250);
    });
  }
  document.querySelectorAll('[data-date-preview]').forEach(datePreview);
  document.querySelectorAll('[data-counter][maxlength]').forEach(counter);
  document.querySelectorAll('form[data-toggle-action]').forEach(actionToggle);
  document.querySelectorAll('textarea[data-list]').forEach(listEntry);
  // After listEntry, whose submit handler adds a still-typed item first.
  document.querySelectorAll('form[data-stream]').forEach(streaming);
})();
