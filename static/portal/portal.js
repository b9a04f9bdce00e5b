/* 智矫手机端. The pages work without this file; it adds the offline queue (IndexedDB: every check-in and report
   keeps its client id and its time of capture, and is uploaded once when the network returns), the camera check-in
   with the server's head-turn challenge, the location fix, and the spot-check prompt. No libraries. */
(function () {
  'use strict';
  var $ = function (s, root) { return (root || document).querySelector(s); };
  var wait = function (ms) { return new Promise(function (r) { setTimeout(r, ms); }); };

  function uid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, '');
    var a = new Uint8Array(16); crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }

  function csrf() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    var meta = $('meta[name=csrf-token]');
    return meta ? meta.content : '';
  }

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  // --- the queue ---------------------------------------------------------------------------------------------
  var DB = 'zhijiao', STORE = 'queue', dbp = null;
  function db() {
    if (!dbp) dbp = new Promise(function (res, rej) {
      var r = indexedDB.open(DB, 1);
      r.onupgradeneeded = function () { r.result.createObjectStore(STORE, { keyPath: 'id' }); };
      r.onsuccess = function () { res(r.result); };
      r.onerror = function () { rej(r.error); };
    });
    return dbp;
  }
  function store(mode, fn) {
    return db().then(function (d) {
      return new Promise(function (res, rej) {
        var t = d.transaction(STORE, mode), req = fn(t.objectStore(STORE));
        t.oncomplete = function () { res(req && req.result); };
        t.onerror = function () { rej(t.error); };
      });
    });
  }
  var queue = {
    put: function (item) { return store('readwrite', function (s) { return s.put(item); }); },
    del: function (id) { return store('readwrite', function (s) { return s.delete(id); }); },
    all: function () {
      return store('readonly', function (s) { return s.getAll(); }).then(function (xs) {
        return (xs || []).sort(function (a, b) { return a.created < b.created ? -1 : 1; });
      });
    }
  };
  window.zjQueue = queue; // for the browser tests

  var waiters = {}, flushing = null, signedOut = false, blocked = '';
  var ACCOUNT = document.body.getAttribute('data-account') || ''; // each person's queue apart on a shared phone
  function post(url, body) {
    var send = body;
    if (body.captured_at) { // how long it waited, on the phone's own clock: the server dates it from its clock
      send = Object.assign({}, body, { age_s: Math.max(0, (Date.now() - Date.parse(body.captured_at)) / 1000) });
    }
    var ctl = window.AbortController ? new AbortController() : null;
    var timer = ctl ? setTimeout(function () { ctl.abort(); }, 20000) : null; // a weak signal must not hang the queue
    return fetch(url, {
      method: 'POST', credentials: 'same-origin', body: JSON.stringify(send), signal: ctl ? ctl.signal : undefined,
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrf() }
    }).then(function (r) { clearTimeout(timer); return r; }, function (e) { clearTimeout(timer); throw e; });
  }
  function mine(items) { return items.filter(function (i) { return ACCOUNT && i.account === ACCOUNT; }); }

  function flush() {
    if (flushing) return flushing.then(flush); // what was queued meanwhile goes in the next pass
    flushing = queue.all().then(function (items) {
      var chain = Promise.resolve();
      var stop = false;
      mine(items).filter(function (i) { return !i.refused; }).forEach(function (item) {
        chain = chain.then(function () {
          if (stop) return;
          return post(item.url, item.body).then(function (r) {
            if (r.status === 401) { stop = true; signedOut = true; return; }
            if (r.status === 403) { // the case closed, or the page's token is stale: say so, keep the item
              stop = true;
              return r.json().then(function (j) { blocked = j.error || ''; }, function () { blocked = '页面已过期，请刷新页面后自动上传。'; });
            }
            if (r.status >= 500 || r.status === 408 || r.status === 429) { stop = true; return; }
            return r.json().catch(function () { return {}; }).then(function (j) {
              if (r.ok && j.ok === true) { // only the server's own answer removes it (not a proxy's page)
                signedOut = false; blocked = '';
                return queue.del(item.id).then(function () { tell(item, true, j); });
              }
              if (r.ok) { stop = true; return; }
              item.refused = true; item.error = j.error || '上传被拒绝'; // bad input: kept to show, not retried
              return queue.put(item).then(function () { tell(item, false, j); });
            });
          }, function () { stop = true; });
        });
      });
      return chain;
    }).then(banner, banner).then(function () { flushing = null; }, function () { flushing = null; });
    return flushing;
  }
  function tell(item, ok, answer) {
    var fn = waiters[item.id];
    if (fn) { delete waiters[item.id]; fn(ok, answer); }
  }

  function banner() {
    var off = $('#offline-banner'), q = $('#queue-banner');
    if (off) off.classList.toggle('show', !navigator.onLine);
    if (!q) return;
    return queue.all().then(function (items) {
      items = mine(items);
      var waiting = items.filter(function (i) { return !i.refused; }), refused = items.filter(function (i) { return i.refused; });
      var html = '';
      if (waiting.length) {
        html += '有' + waiting.length + '项记录保存在手机上等待上传（' + waiting.map(function (i) { return esc(i.label); }).join('、') +
          '），' + (signedOut ? '请<a href="/m/login/">重新登录</a>后自动上传。' : blocked ? esc(blocked) : '联网后自动上传。');
      }
      refused.forEach(function (i) {
        html += '<div>“' + esc(i.label) + '”未能上传：' + esc(i.error) + ' <button type="button" data-drop="' + esc(i.id) + '">知道了</button></div>';
      });
      q.innerHTML = html;
      q.classList.toggle('show', !!html);
      q.dataset.count = String(waiting.length);
    });
  }
  document.addEventListener('click', function (e) {
    var id = e.target && e.target.getAttribute && e.target.getAttribute('data-drop');
    if (id) queue.del(id).then(banner);
  });

  // --- queued forms (思想汇报) -----------------------------------------------------------------------------------
  function queuedForm(form) {
    var out = $('#form-result');
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var data = {}, fd = new FormData(form);
      fd.forEach(function (v, k) { if (k !== 'csrfmiddlewaretoken') data[k] = v; });
      data.client_id = uid(); // made now: a page kept in the cache must not repeat an earlier submission's id
      data.captured_at = new Date().toISOString();
      var item = { id: data.client_id, url: form.getAttribute('data-queue'), label: form.getAttribute('data-queue-label') || '记录',
                   body: data, created: data.captured_at, account: ACCOUNT };
      queue.put(item).then(function () {
        form.reset();
        var cid = form.querySelector('[name=client_id]'); if (cid) cid.value = uid();
        out.innerHTML = '<div class="alert blue">已保存，正在上传…</div>';
        waiters[item.id] = function (ok, j) {
          out.innerHTML = ok ? '<div class="alert green">' + esc(j.message || '已提交') + '</div>'
            : '<div class="alert red">未能提交：' + esc(j.error || '') + '</div>';
          if (!ok && form.elements.text) form.elements.text.value = data.text || ''; // to correct and send again
        };
        return flush();
      }).then(function () {
        if (waiters[item.id]) out.innerHTML = '<div class="alert amber">已保存在手机上（' + new Date(item.created).toLocaleString('zh-CN') + '），联网后自动上传，不会重复提交。</div>';
      });
    });
  }

  function onlineOnly(form) {
    form.addEventListener('submit', function (e) {
      if (!navigator.onLine) {
        e.preventDefault();
        var msg = document.createElement('div');
        msg.className = 'alert red'; msg.setAttribute('role', 'alert'); msg.textContent = form.getAttribute('data-online-only');
        form.parentNode.insertBefore(msg, form);
      }
    });
  }

  // --- check-in: camera, challenge, location ---------------------------------------------------------------------
  function locate() {
    return new Promise(function (res) {
      if (!navigator.geolocation) return res(null);
      var done = false, finish = function (v) { if (!done) { done = true; res(v); } };
      setTimeout(function () { finish(null); }, 12000);
      navigator.geolocation.getCurrentPosition(function (p) {
        finish({ lat: p.coords.latitude, lon: p.coords.longitude, accuracy: p.coords.accuracy });
      }, function () { finish(null); }, { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 });
    });
  }

  function grab(video) {
    var w = video.videoWidth || 640, h = video.videoHeight || 480, k = Math.min(1, 480 / Math.max(w, h));
    var c = document.createElement('canvas');
    c.width = Math.round(w * k); c.height = Math.round(h * k);
    c.getContext('2d').drawImage(video, 0, 0, c.width, c.height);
    return c.toDataURL('image/jpeg', 0.8).split(',')[1];
  }

  function challenge() {
    if (!navigator.onLine) return Promise.resolve(null);
    var t = new Promise(function (res) { setTimeout(function () { res(null); }, 4000); });
    var f = fetch('/m/api/challenge', { credentials: 'same-origin' }).then(function (r) { return r.ok ? r.json() : null; })
      .catch(function () { return null; });
    return Promise.race([f, t]);
  }

  function checkin(box) {
    var btn = $('#start'), video = $('#video'), say = $('#say'), result = $('#result');
    var purpose = box.getAttribute('data-purpose'), spot = box.getAttribute('data-spot');
    var asked = (window.location.search.match(/[?&]spot=(\d+)/) || [])[1];
    if (asked && !spot) { // offline, the kept report-in page answers the spot check the address names
      spot = asked; purpose = 'spot_check';
      var h = $('header.top h1'); if (h) h.textContent = '信息化核查';
    }
    var clientId = '';
    function show(kind, html) { result.innerHTML = '<div class="alert ' + kind + '">' + html + '</div>'; }
    btn.addEventListener('click', function () {
      if (!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia)) {
        show('red', '这个浏览器不能使用相机。请用手机自带的浏览器或 Chrome 打开（网址须以 https 开头），或到司法所报到。');
        return;
      }
      btn.disabled = true; result.innerHTML = '';
      clientId = uid(); // one id per capture, made now (a cached page must not repeat an earlier one)
      var stream = null, frames = [], ch = null, dir = '', captured = '', stage = 'camera';
      var locP = locate(), chP = challenge();
      navigator.mediaDevices.getUserMedia({ video: { facingMode: 'user', width: { ideal: 640 }, height: { ideal: 480 } }, audio: false })
        .then(function (s) {
          stream = s; video.srcObject = s;
          return video.play().catch(function () {});
        })
        .then(function () { say.textContent = '请正对镜头，保持不动'; return wait(1200); })
        .then(function () { captured = new Date().toISOString(); frames.push(grab(video)); return wait(300); })
        .then(function () { frames.push(grab(video)); return chP; })
        .then(function (c) {
          ch = c; dir = c ? c.direction : (Math.random() < 0.5 ? 'left' : 'right');
          say.textContent = (c && c.prompt) || (dir === 'left' ? '请慢慢向左转头' : '请慢慢向右转头');
          return wait(700);
        })
        .then(function () { frames.push(grab(video)); return wait(350); })
        .then(function () { frames.push(grab(video)); return wait(350); })
        .then(function () {
          frames.push(grab(video));
          say.textContent = '好的，请转回来';
          stream.getTracks().forEach(function (t) { t.stop(); });
          video.srcObject = null; video.poster = 'data:image/jpeg;base64,' + frames[0]; // what was taken
          say.textContent = '正在定位…';
          return locP;
        })
        .then(function (loc) {
          say.textContent = '采集完成';
          var body = { client_id: clientId, purpose: purpose, spot_check: spot, captured_at: captured,
                       challenge: ch ? ch.token : '', direction: dir, frames: frames };
          if (loc) { body.lat = loc.lat; body.lon = loc.lon; body.accuracy = loc.accuracy; }
          var item = { id: clientId, url: '/m/api/verify', label: purpose === 'spot_check' ? '信息化核查' : '报到', body: body,
                       created: captured, account: ACCOUNT };
          stage = 'queue';
          show('blue', '已采集，正在上传…' + (loc ? '' : '<br>没有取得位置，请打开手机的定位功能。'));
          waiters[clientId] = function (ok, j) {
            clientId = uid();
            if (ok && j.passed) {
              show('green', '<b class="big">核验通过</b><br>拍摄时间 ' + esc(j.captured_at) + (j.spot_state ? '，本次核查：' + esc(j.spot_state) : '') +
                   '<br><a class="btn" href="/m/">返回今日</a>');
              btn.style.display = 'none';
            } else if (ok) {
              show('amber', '<b>未通过：</b>' + esc(j.message) + '<br>已交司法所工作人员复核。您可以重新核验。');
              btn.textContent = '重新核验'; btn.disabled = false;
            } else {
              show('red', '未能上传：' + esc(j.error || '') + '，请重新核验。');
              btn.textContent = '重新核验'; btn.disabled = false;
            }
          };
          return queue.put(item).then(flush).then(function () {
            if (waiters[item.id]) {
              delete waiters[item.id];
              show('amber', '<b>已保存在手机上</b>（拍摄时间 ' + new Date(captured).toLocaleString('zh-CN') + '），联网后自动上传，只算一次；离线拍摄的由司法所工作人员复核。');
              btn.textContent = '重新核验'; btn.disabled = false;
            }
          });
        })
        .catch(function (err) {
          if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
          if (stage === 'queue') {
            show('red', '手机存储出错，未能保存这次核验，请重新核验。');
          } else {
            show('red', '无法打开相机：请在浏览器设置中允许本网站使用相机，然后重试。' + (err && err.name ? '（' + esc(err.name) + '）' : ''));
          }
          btn.disabled = false;
        });
    });
  }

  // --- a spot check issued while the phone is open ------------------------------------------------------------------
  var seenSpot = {};
  function ping() {
    if (!navigator.onLine || document.hidden || !$('nav.tabs')) return;
    fetch('/m/api/ping', { credentials: 'same-origin' }).then(function (r) { return r.ok ? r.json() : null; }).then(function (j) {
      if (!j) return;
      var open = (j.spot_checks || []).filter(function (s) { return !seenSpot[s.id]; });
      if (open.length && !$('#checkin[data-purpose=spot_check]')) {
        var s = open[0]; seenSpot[s.id] = 1;
        var a = document.createElement('a');
        a.className = 'btn red'; a.id = 'spot-prompt'; a.href = '/m/checkin/?spot=' + s.id;
        a.textContent = '信息化核查：请在' + s.due + '前完成人脸核验';
        var main = $('main'); main.insertBefore(a, main.firstChild);
        if (navigator.vibrate) navigator.vibrate([300, 100, 300]);
      }
    }, function () {});
    sendFix();
  }

  // --- the phone's location while a page is open (only where the person has allowed it; never asks by itself) ----
  function sendFix() {
    if (!navigator.geolocation || !navigator.permissions || !navigator.onLine) return;
    navigator.permissions.query({ name: 'geolocation' }).then(function (st) {
      if (st.state !== 'granted') return;
      navigator.geolocation.getCurrentPosition(function (p) {
        var fix = { client_id: 'fix-' + Date.now() + '-' + Math.random().toString(36).slice(2, 8),
                    time: new Date(p.timestamp || Date.now()).toISOString(), lat: p.coords.latitude,
                    lon: p.coords.longitude, accuracy: p.coords.accuracy, source: 'gnss', crs: 'wgs84' };
        var post = function (battery) {
          if (battery != null) fix.battery = Math.round(battery * 100);
          fetch('/m/api/fix', { method: 'POST', credentials: 'same-origin',
                                headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrf() },
                                body: JSON.stringify({ fixes: [fix] }) }).catch(function () {});
        };
        if (navigator.getBattery) navigator.getBattery().then(function (b) { post(b.level); }, function () { post(null); });
        else post(null);
      }, function () {}, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    }, function () {});
  }

  function dropPages() {
    if (!window.caches) return Promise.resolve();
    var all = caches.keys().then(function (ks) {
      return Promise.all(ks.filter(function (k) { return k.indexOf('zj-pages') === 0; }).map(function (k) { return caches.delete(k); }));
    });
    return Promise.race([all, wait(1500)]);
  }

  // --- start -----------------------------------------------------------------------------------------------------
  document.addEventListener('DOMContentLoaded', function () {
    if ('serviceWorker' in navigator) navigator.serviceWorker.register('/m/sw.js', { scope: '/m/' }).catch(function () {});
    Array.prototype.forEach.call(document.querySelectorAll('form[data-queue]'), queuedForm);
    Array.prototype.forEach.call(document.querySelectorAll('form[data-online-only]'), onlineOnly);
    var box = $('#checkin'); if (box) checkin(box);
    var reason = $('#reason'), business = $('#business');
    if (reason && business) {
      var toggle = function () { business.style.display = reason.value === 'business' ? '' : 'none'; };
      reason.addEventListener('change', toggle); toggle();
    }
    var files = $('#files'), names = $('#file-names');
    if (files && names) files.addEventListener('change', function () {
      names.textContent = files.files.length ? Array.prototype.map.call(files.files, function (f) { return f.name; }).join('、') : '未选择文件';
    });
    Array.prototype.forEach.call(document.querySelectorAll('form[data-logout]'), function (f) {
      f.addEventListener('submit', function (e) {
        e.preventDefault();
        queue.all().then(mine).then(function (items) {
          var n = items.filter(function (i) { return !i.refused; }).length;
          if (n && !window.confirm('还有' + n + '项记录没有上传，退出后将在您下次登录时上传。确定退出？')) return;
          dropPages().then(function () { f.submit(); });
        }, function () { f.submit(); });
      });
    });
    if (document.body.getAttribute('data-page') === 'login') dropPages(); // nobody's pages stay for the next person
    banner(); flush();
    window.addEventListener('online', function () { banner(); flush(); });
    window.addEventListener('offline', banner);
    setInterval(function () { if (navigator.onLine) flush(); }, 20000);
    setInterval(ping, 60000); setTimeout(ping, 1500);
  });
  window.zjFlush = flush;
})();
