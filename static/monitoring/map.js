/* Officer map (location monitoring): fences, a supervisee's track, open alerts.
 * Plain JS, no build step. Used by templates/monitoring/_map.html, which puts
 *   <div class="zj-map" data-zj-map data-zj-map-data="map-data" data-leaflet-js="...">
 *   <script type="application/json" id="map-data">{...}</script>
 * on the page. Coordinates are already in the tile layer's system; they are drawn as given.
 * Several maps per page are fine (one id each); this file may be included more than once.
 * window.ZjMap: scan(root), get(id) -> {map, layers, data}, focus(id, lat, lon, zoom). */
(function () {
  'use strict';

  if (window.ZjMap) {            // a second copy of this script on the page: just look for new maps
    window.ZjMap.scan(document);
    return;
  }

  var CHINA = { center: [35.5, 104.5], zoom: 4 };
  var FOCUS_ZOOM = 14;

  var KINDS = {
    allowed:   { label: '允许活动区域', style: { color: '#1d4ed8', weight: 2, opacity: 0.9, fillColor: '#3b82f6', fillOpacity: 0.10 } },
    exclusion: { label: '禁止进入区域', style: { color: '#d92d20', weight: 2, opacity: 0.9, fillColor: '#ef4444', fillOpacity: 0.18 } },
    leave:     { label: '请假临时区域', style: { color: '#15803d', weight: 2, opacity: 0.9, dashArray: '6 5', fillColor: '#22c55e', fillOpacity: 0.10 } },
    curfew:    { label: '宵禁区域',     style: { color: '#7a3cc4', weight: 2, opacity: 0.9, fillColor: '#8b5cf6', fillOpacity: 0.14 } }
  };
  var LEVELS = {
    red:    { label: '红色预警', color: '#d92d20' },
    yellow: { label: '黄色预警', color: '#f5b400' },
    blue:   { label: '蓝色预警', color: '#2563eb' }
  };
  var DEVICES = {
    phone:     { label: '手机', line: { color: '#1f2937', weight: 3, opacity: 0.85 } },
    wristband: { label: '腕带', line: { color: '#475569', weight: 3, opacity: 0.85, dashArray: '1 6', lineCap: 'round' } }
  };
  var OUT_COLOR = '#d92d20';
  var T = {
    region: '位置监控地图',
    noTiles: '未配置底图，仅显示围栏与轨迹',
    nothing: '暂无围栏、轨迹或预警',
    legend: '图例',
    track: '轨迹',
    outFix: '越界定位点',
    accuracy: '精度',
    metres: '米',
    handle: '处置',
    fix: '定位点',
    outside: '越界',
    zoomIn: '放大',
    zoomOut: '缩小',
    close: '关闭',
    loadFailed: '地图组件加载失败，请刷新页面重试。'
  };

  var registry = {};
  var leafletState = { loading: false, waiting: [] };

  /* ---------- small helpers ---------- */

  function esc(s) {
    return String(s == null ? '' : s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  function num(v) {
    var n = typeof v === 'number' ? v : parseFloat(v);
    return isFinite(n) ? n : null;
  }

  function latLngOf(o) {
    if (!o) return null;
    var lat = num(o.lat), lon = num(o.lon != null ? o.lon : o.lng);
    if (lat === null || lon === null || Math.abs(lat) > 90 || Math.abs(lon) > 180) return null;
    return [lat, lon];
  }

  function safeUrl(u) {
    if (typeof u !== 'string' || !u) return null;
    // relative URLs, or http(s); never javascript: and the like
    if (/^[a-z][a-z0-9+.\-]*:/i.test(u) && !/^https?:/i.test(u)) return null;
    return u;
  }

  function pad(n) { return (n < 10 ? '0' : '') + n; }

  function localTime(iso) {
    if (!iso) return '';
    var d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
      pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }

  function extend(a, b) {
    var o = {}, k;
    for (k in a) if (Object.prototype.hasOwnProperty.call(a, k)) o[k] = a[k];
    for (k in b) if (Object.prototype.hasOwnProperty.call(b, k)) o[k] = b[k];
    return o;
  }

  function readData(el) {
    var node = el.nextElementSibling;
    if (!(node && node.tagName === 'SCRIPT' && node.type === 'application/json')) {
      node = document.getElementById(el.getAttribute('data-zj-map-data') || (el.id + '-data'));
    }
    if (!node) return {};
    try {
      var d = JSON.parse(node.textContent || 'null');
      return d && typeof d === 'object' ? d : {};
    } catch (e) {
      return {};
    }
  }

  /* ---------- Leaflet, loaded once ---------- */

  function withLeaflet(url, cb) {
    if (window.L && window.L.map) { cb(); return; }
    leafletState.waiting.push(cb);
    if (leafletState.loading || !url) return;
    leafletState.loading = true;
    var s = document.createElement('script');
    s.src = url;
    s.async = true;
    s.onload = function () {
      var w = leafletState.waiting;
      leafletState.waiting = [];
      w.forEach(function (f) { f(); });
    };
    s.onerror = function () {
      leafletState.loading = false;
      leafletState.waiting = [];
      Array.prototype.forEach.call(document.querySelectorAll('[data-zj-map]:not([data-zj-map-ready])'), function (el) {
        el.innerHTML = '<p class="zj-map-noscript">' + esc(T.loadFailed) + '</p>';
      });
    };
    document.head.appendChild(s);
  }

  /* ---------- popups ---------- */

  function fencePopup(p) {
    var kind = KINDS[p.kind];
    var h = '<div class="zj-map-pop"><strong>' + esc(p.label || (kind ? kind.label : '')) + '</strong>';
    if (kind && p.label) h += '<div class="text-secondary">' + esc(kind.label) + '</div>';
    if (p.valid) h += '<div>' + esc(p.valid) + '</div>';
    return h + '</div>';
  }

  function fixPopup(f, i, n) {
    var dev = DEVICES[f.device];
    var h = '<div class="zj-map-pop"><strong>' + esc(localTime(f.t)) + '</strong>';
    h += '<div>' + esc(dev ? dev.label : (f.device || '')) + (f.out ? ' · <span class="zj-map-out">' + esc(T.outside) + '</span>' : '') + '</div>';
    if (num(f.acc) !== null) h += '<div>' + esc(T.accuracy) + ' ' + Math.round(num(f.acc)) + ' ' + esc(T.metres) + '</div>';
    if (n > 1) h += '<div class="text-secondary">' + esc(T.fix) + ' ' + (i + 1) + ' / ' + n + '</div>';
    return h + '</div>';
  }

  function alertPopup(a) {
    var lv = LEVELS[a.level];
    var h = '<div class="zj-map-pop"><span class="zj-map-lvl zj-map-lvl-' + esc(lv ? a.level : 'none') + '">' +
      esc(lv ? lv.label : '预警') + '</span> <strong>' + esc(a.label) + '</strong>';
    if (a.person) h += '<div>' + esc(a.person) + '</div>';
    if (a.time) h += '<div class="text-secondary">' + esc(a.time) + '</div>';
    var u = safeUrl(a.url);
    if (u) h += '<div class="mt-1"><a href="' + esc(u) + '">' + esc(T.handle) + '</a></div>';
    return h + '</div>';
  }

  /* ---------- controls ---------- */

  function legendControl(L, narrow, devicesSeen) {
    var C = L.Control.extend({
      options: { position: 'bottomright' },
      onAdd: function () {
        var box = L.DomUtil.create('details', 'zj-map-legend leaflet-bar');
        if (!narrow) box.open = true;
        var h = '<summary>' + esc(T.legend) + '</summary><ul>';
        Object.keys(KINDS).forEach(function (k) {
          var s = KINDS[k].style;
          h += '<li><span class="zj-sw zj-sw-area" style="border-color:' + s.color + ';background:' + hexA(s.fillColor, Math.max(s.fillOpacity, 0.12) + 0.08) +
            (s.dashArray ? ';border-style:dashed' : '') + '"></span>' + esc(KINDS[k].label) + '</li>';
        });
        var both = devicesSeen.phone && devicesSeen.wristband;
        if (both) {
          h += '<li><span class="zj-sw zj-sw-line"></span>' + esc(T.track) + '（' + DEVICES.phone.label + '）</li>';
          h += '<li><span class="zj-sw zj-sw-line zj-sw-dotted"></span>' + esc(T.track) + '（' + DEVICES.wristband.label + '）</li>';
        } else {
          h += '<li><span class="zj-sw zj-sw-line' + (devicesSeen.wristband ? ' zj-sw-dotted' : '') + '"></span>' + esc(T.track) + '</li>';
        }
        h += '<li><span class="zj-sw zj-sw-dot zj-sw-out"></span>' + esc(T.outFix) + '</li>';
        Object.keys(LEVELS).forEach(function (k) {
          h += '<li><span class="zj-sw zj-sw-alert" style="background:' + LEVELS[k].color + '"></span>' + esc(LEVELS[k].label) + '</li>';
        });
        box.innerHTML = h + '</ul>';
        L.DomEvent.disableClickPropagation(box);
        L.DomEvent.disableScrollPropagation(box);
        return box;
      }
    });
    return new C();
  }

  function noteControl(L, lines) {
    var C = L.Control.extend({
      options: { position: 'topright' },
      onAdd: function () {
        var d = L.DomUtil.create('div', 'zj-map-note');
        d.innerHTML = lines.map(function (t) { return '<div>' + esc(t) + '</div>'; }).join('');
        L.DomEvent.disableClickPropagation(d);
        return d;
      }
    });
    return new C();
  }

  function hexA(hex, a) {
    var m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex || '');
    if (!m) return hex;
    return 'rgba(' + parseInt(m[1], 16) + ',' + parseInt(m[2], 16) + ',' + parseInt(m[3], 16) + ',' + Math.min(a, 1).toFixed(2) + ')';
  }

  /* ---------- one map ---------- */

  function build(el) {
    var L = window.L;
    var data = readData(el);
    var tiles = data.tiles && typeof data.tiles === 'object' && typeof data.tiles.url === 'string' ? data.tiles : null;
    var maxZoom = (tiles && num(tiles.max_zoom)) || 19;

    if (!el.getAttribute('role')) el.setAttribute('role', 'region');
    if (!el.getAttribute('aria-label')) el.setAttribute('aria-label', T.region);
    var hAttr = el.getAttribute('data-zj-map-height');
    if (hAttr && /^\d+(\.\d+)?$/.test(hAttr)) el.style.height = hAttr + 'px';
    el.innerHTML = '';

    var map = L.map(el, {
      zoomControl: false,
      attributionControl: !!tiles,
      maxZoom: maxZoom,
      minZoom: 3,
      worldCopyJump: false
    });
    L.control.zoom({ zoomInTitle: T.zoomIn, zoomOutTitle: T.zoomOut }).addTo(map);
    L.control.scale({ imperial: false, position: 'bottomleft' }).addTo(map);

    // panes: fences under accuracy circles under the track; alerts (markers) on top
    map.createPane('zjFences').style.zIndex = 380;
    map.createPane('zjAccuracy').style.zIndex = 390;
    map.getPane('zjAccuracy').style.pointerEvents = 'none';

    if (tiles) {
      if (map.attributionControl) map.attributionControl.setPrefix('Leaflet');
      L.tileLayer(tiles.url, {
        attribution: tiles.attribution || '',
        maxZoom: maxZoom,
        subdomains: tiles.subdomains || 'abc'
      }).addTo(map);
    }

    var bounds = L.latLngBounds([]);
    var layers = { fences: null, track: L.layerGroup(), alerts: L.layerGroup(), accuracy: null };

    /* fences */
    var fc = data.fences;
    if (fc && (fc.type === 'FeatureCollection' || fc.type === 'Feature')) {
      try {
        layers.fences = L.geoJSON(fc, {
          pane: 'zjFences',
          style: function (f) {
            var k = KINDS[(f && f.properties && f.properties.kind)] || KINDS.allowed;
            return extend(k.style, {});
          },
          pointToLayer: function (f, latlng) {
            var p = f.properties || {};
            var k = KINDS[p.kind] || KINDS.allowed;
            var r = num(p.radius_m);
            if (r !== null && r > 0) return L.circle(latlng, extend(k.style, { radius: r, pane: 'zjFences' }));
            return L.circleMarker(latlng, extend(k.style, { radius: 6, pane: 'zjFences' }));
          },
          onEachFeature: function (f, layer) {
            layer.bindPopup(fencePopup(f.properties || {}), { maxWidth: 260 });
          }
        }).addTo(map);
        // the map has no view yet, so a circle's bounds come from its centre and radius
        layers.fences.eachLayer(function (l) {
          try {
            if (l instanceof L.Circle) bounds.extend(l.getLatLng().toBounds(2 * l.getRadius()));
            else if (l.getBounds) bounds.extend(l.getBounds());
            else if (l.getLatLng) bounds.extend(l.getLatLng());
          } catch (e) { /* empty geometry */ }
        });
      } catch (e) {
        if (window.console) console.warn('zj-map: fences not drawn', e);
      }
    }

    /* track: per device, in time order */
    var devicesSeen = {};
    var fixes = [];
    (Array.isArray(data.track) ? data.track : []).forEach(function (f, idx) {
      var ll = latLngOf(f);
      if (!ll) return;
      var ts = Date.parse(f.t);
      fixes.push({ f: f, ll: ll, ts: isNaN(ts) ? idx : ts, idx: idx });
    });
    var byDevice = {};
    fixes.forEach(function (x) {
      var d = x.f.device || 'phone';
      (byDevice[d] = byDevice[d] || []).push(x);
      devicesSeen[DEVICES[d] ? d : 'phone'] = true;
    });
    var focusLL = latLngOf(data.focus);
    var focused = null, focusedDist = Infinity;

    Object.keys(byDevice).forEach(function (d) {
      var list = byDevice[d].sort(function (a, b) { return a.ts - b.ts || a.idx - b.idx; });
      var dev = DEVICES[d] || DEVICES.phone;
      if (list.length > 1) {
        L.polyline(list.map(function (x) { return x.ll; }), extend(dev.line, { interactive: false })).addTo(layers.track);
      }
      list.forEach(function (x, i) {
        var f = x.f;
        var out = !!f.out;
        var last = i === list.length - 1;
        var m = L.circleMarker(x.ll, {
          radius: out ? 5 : (last ? 5 : 4),
          color: out ? '#7f1d1d' : dev.line.color,
          weight: out ? 1.5 : 2,
          fillColor: out ? OUT_COLOR : (last ? dev.line.color : '#ffffff'),
          fillOpacity: 1,
          bubblingMouseEvents: false
        });
        m.bindPopup(fixPopup(f, i, list.length), { maxWidth: 260 });
        var acc = num(f.acc);
        var accCircle = null;
        function showAcc() {
          if (acc === null || acc <= 0 || accCircle) return;
          accCircle = L.circle(x.ll, {
            radius: acc, pane: 'zjAccuracy', interactive: false,
            color: out ? OUT_COLOR : '#0f172a', weight: 1, opacity: 0.6, fillOpacity: 0.08, dashArray: '3 3'
          }).addTo(map);
        }
        function hideAcc() {
          if (accCircle && !m.isPopupOpen() && x !== focused) { map.removeLayer(accCircle); accCircle = null; }
        }
        m.on('mouseover', showAcc);
        m.on('mouseout', hideAcc);
        m.on('popupopen', showAcc);
        m.on('popupclose', hideAcc);
        x.showAcc = showAcc;
        x.marker = m;
        m.addTo(layers.track);
        bounds.extend(x.ll);
        if (focusLL) {
          var dist = L.latLng(focusLL).distanceTo(x.ll);
          if (dist < focusedDist) { focusedDist = dist; focused = x; }
        }
      });
    });
    layers.track.addTo(map);
    // the focused fix: the one at the focus point (within its accuracy, at least 25 m)
    if (focused && focusedDist <= Math.max(num(focused.f.acc) || 0, 25)) {
      focused.showAcc();
      focused.marker.setStyle({ radius: 7, weight: 3 });
      focused.marker.bringToFront();
    } else {
      focused = null;
    }

    /* alerts */
    (Array.isArray(data.alerts) ? data.alerts : []).forEach(function (a) {
      var ll = latLngOf(a);
      if (!ll) return;
      var lv = LEVELS[a.level] ? a.level : 'none';
      var icon = L.divIcon({
        className: 'zj-alert-icon zj-alert-' + lv,
        html: '<span aria-hidden="true">!</span>',
        iconSize: [22, 22],
        iconAnchor: [11, 11],
        popupAnchor: [0, -10]
      });
      var title = (LEVELS[a.level] ? LEVELS[a.level].label : '预警') + '：' + (a.label || '') + (a.person ? '（' + a.person + '）' : '');
      L.marker(ll, { icon: icon, title: title, alt: title, riseOnHover: true, zIndexOffset: lv === 'red' ? 300 : (lv === 'yellow' ? 200 : 100) })
        .bindPopup(alertPopup(a), { maxWidth: 260 })
        .addTo(layers.alerts);
      bounds.extend(ll);
    });
    layers.alerts.addTo(map);

    var notes = [];
    if (!tiles) notes.push(T.noTiles);
    if (!bounds.isValid()) notes.push(T.nothing);
    if (notes.length) noteControl(L, notes).addTo(map);

    // the legend starts folded on a phone, or on a low map where it would cover half of it
    var small = el.clientWidth > 0 && (el.clientWidth < 576 || el.clientHeight < 380);
    var legend = legendControl(L, small, devicesSeen).addTo(map);
    function fitLegend() {   // never taller than the map: it scrolls inside instead
      var ul = legend.getContainer().querySelector('ul');
      if (ul && el.clientHeight) ul.style.maxHeight = Math.max(el.clientHeight - 90, 60) + 'px';
    }
    fitLegend();

    map.on('popupopen', function (e) {
      var b = e.popup && e.popup._closeButton;   // Leaflet's own label is English
      if (b) { b.setAttribute('aria-label', T.close); b.setAttribute('title', T.close); }
    });

    function place() {
      if (focusLL) map.setView(focusLL, Math.min(FOCUS_ZOOM, maxZoom));
      else if (bounds.isValid()) map.fitBounds(bounds, { padding: [28, 28], maxZoom: 16 });
      else map.setView(CHINA.center, CHINA.zoom);
    }
    place();
    if (focused) focused.marker.bringToFront();

    // a map drawn while hidden (tab, collapse) has no size: place it again when it gets one
    var hadSize = el.clientWidth > 0 && el.clientHeight > 0;
    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        map.invalidateSize();
        fitLegend();
        var has = el.clientWidth > 0 && el.clientHeight > 0;
        if (has && !hadSize) place();
        hadSize = has;
      }).observe(el);
    }

    el.setAttribute('data-zj-map-ready', '');
    var entry = { map: map, layers: layers, data: data, bounds: bounds };
    registry[el.id || ('zj-map-' + Object.keys(registry).length)] = entry;
    return entry;
  }

  function scan(root) {
    root = root || document;
    var els = [];
    if (root.nodeType === 1 && root.matches && root.matches('[data-zj-map]')) els.push(root);
    if (root.querySelectorAll) Array.prototype.push.apply(els, root.querySelectorAll('[data-zj-map]'));
    els = els.filter(function (el) { return !el.hasAttribute('data-zj-map-ready') && !el._zjPending; });
    if (!els.length) return;
    els.forEach(function (el) { el._zjPending = true; });
    withLeaflet(els[0].getAttribute('data-leaflet-js'), function () {
      els.forEach(function (el) {
        el._zjPending = false;
        if (el.hasAttribute('data-zj-map-ready') || !el.isConnected) return;
        try { build(el); } catch (e) {
          if (window.console) console.warn('zj-map: map not drawn', e);
        }
      });
    });
  }

  window.ZjMap = {
    scan: scan,
    get: function (id) { return registry[id || 'map'] || null; },
    focus: function (id, lat, lon, zoom) {
      var e = registry[id || 'map'];
      if (e) e.map.setView([lat, lon], zoom || FOCUS_ZOOM);
    }
  };

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', function () { scan(document); });
  } else {
    scan(document);
  }
  document.addEventListener('htmx:load', function (e) { scan(e.target); });
})();
