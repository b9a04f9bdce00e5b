/* 智矫手机端 service worker (scope /m/): the shell from the cache; pages from the network, the last copy when
   there is none; the script's calls never cached. Version {{ version }}. */
'use strict';
var VERSION = '{{ version }}';
var STATIC = 'zj-static-' + VERSION, PAGES = 'zj-pages';
var SHELL = {{ shell_json|safe }}.concat(['/m/offline/', '/m/manifest.webmanifest']);

self.addEventListener('install', function (e) {
  e.waitUntil(caches.open(STATIC).then(function (c) { return c.addAll(SHELL); }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener('activate', function (e) {
  e.waitUntil(caches.keys().then(function (ks) {
    return Promise.all(ks.filter(function (k) { return k.indexOf('zj-static-') === 0 && k !== STATIC; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

function fromCache(key) {
  return caches.open(PAGES).then(function (c) {
    return c.match(key).then(function (hit) { return hit || c.match(key.split('?')[0]); });
  });
}

// a page is kept under its path, and for a spot check with its id (notices like ?sent=1 are not kept)
function pageKey(u) {
  var spot = u.searchParams.get('spot');
  return u.pathname + (spot ? '?spot=' + encodeURIComponent(spot) : '');
}

self.addEventListener('fetch', function (e) {
  var r = e.request;
  if (r.method !== 'GET') return;
  var u = new URL(r.url);
  if (u.origin !== self.location.origin) return;
  if (u.pathname.indexOf('/static/') === 0 || u.pathname === '/m/manifest.webmanifest') {
    e.respondWith(caches.match(r).then(function (hit) {
      return hit || fetch(r).then(function (resp) {
        if (resp.ok) { var copy = resp.clone(); e.waitUntil(caches.open(STATIC).then(function (c) { return c.put(r, copy); })); }
        return resp;
      });
    }));
    return;
  }
  if (u.pathname.indexOf('/m/') !== 0 || u.pathname.indexOf('/m/api/') === 0 || u.pathname === '/m/sw.js') return;
  if (r.mode !== 'navigate') return;
  var key = pageKey(u);
  var net = fetch(r).then(function (resp) {
    if (resp.ok && !resp.redirected && resp.type === 'basic' && u.pathname.indexOf('/m/documents/') !== 0) {
      var copy = resp.clone();
      e.waitUntil(caches.open(PAGES).then(function (c) { return c.put(key, copy); }));
    }
    return resp;
  });
  var offline = function () { return fromCache(key).then(function (hit) { return hit || caches.match('/m/offline/'); }); };
  // a weak signal: after 8 seconds the kept copy, if there is one, while the network keeps trying
  var slow = new Promise(function (res) { setTimeout(res, 8000); }).then(function () {
    return fromCache(key).then(function (hit) { return hit || net; });
  });
  e.respondWith(Promise.race([net.catch(offline), slow]).catch(offline));
});
