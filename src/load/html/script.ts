/**
 * The page's own script: draws the charts with uPlot (inlined beside it) from the JSON the page carries. Charts are
 * kept on `window.fanoutCharts` so that a test (or a curious user in the console) can read what was drawn.
 */
export const PAGE_SCRIPT = String.raw`
(function () {
  var data = JSON.parse(document.getElementById('fanout-data').textContent);
  var charts = (window.fanoutCharts = {});
  var palette = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];
  function width() { return Math.min(1000, document.body.clientWidth - 40); }
  function ms(value) { if (value == null) return ''; return value < 1 ? Math.round(value * 1000) + 'µs' : value < 1000 ? value.toFixed(value < 10 ? 2 : 1) + 'ms' : (value / 1000).toFixed(2) + 's'; }
  function draw(id, options, columns) {
    var element = document.getElementById(id);
    if (!element) return;
    options.width = width();
    options.height = 300;
    charts[id] = new uPlot(options, columns, element);
  }
  function series(label, index, extra) {
    var s = {label: label, stroke: palette[index % palette.length], width: 2};
    for (var key in extra) s[key] = extra[key];
    return s;
  }

  // The latency spectrum: x is 1 / (1 - percentile), on a log scale, as HdrHistogram plots it.
  var spectrum = data.spectrum;
  if (spectrum.series.length > 0) {
    var columns = [spectrum.x];
    var list = [{label: 'percentile', value: function (u, v) { return v == null ? '' : percentile(v); }}];
    spectrum.series.forEach(function (s, i) {
      columns.push(s.ms);
      list.push(series(s.label, i, {value: function (u, v) { return v == null ? '' : ms(v); }, points: {show: true}, dash: s.dash ? [6, 4] : undefined}));
    });
    draw('chart-spectrum', {
      title: 'Latency by percentile',
      scales: {x: {time: false, distr: 3, log: 10}, y: {distr: 3, log: 10}},
      axes: [
        {label: 'percentile', splits: function (u) { return PERCENTILE_TICKS.filter(function (x) { return x >= u.scales.x.min && x <= u.scales.x.max; }); }, values: function (u, vals) { return vals.map(percentile); }},
        {label: 'latency', size: 70, values: function (u, vals) { return vals.map(logLabel); }},
      ],
      series: list,
    }, columns);
  }
  // 0%, 50%, 75%, 90%, 99%, 99.9%, 99.99%, 99.999% on the 1 / (1 - p) axis.
  var PERCENTILE_TICKS = [1, 2, 4, 10, 100, 1000, 10000, 100000];
  // A log axis asks for a label at every minor tick: only 1, 2 and 5 times a power of ten get one.
  function logLabel(v) {
    if (v == null || v <= 0) return '';
    var m = Math.round((v / Math.pow(10, Math.floor(Math.log10(v) + 1e-9))) * 1000) / 1000;
    return m === 1 || m === 2 || m === 5 ? ms(v) : '';
  }
  function percentile(x) { if (x == null) return ''; var p = 100 * (1 - 1 / x); return (p >= 99 ? p.toFixed(3).replace(/0+$/, '').replace(/\.$/, '') : String(Math.round(p))) + '%'; }

  var t = data.samples.map(function (s) { return s.second; });
  var seconds = {x: {time: false}};
  var secondsAxis = {label: 'seconds', values: function (u, vals) { return vals.map(function (v) { return v + 's'; }); }};
  if (t.length > 0) {
    draw('chart-rps', {title: 'Requests per second', scales: seconds, axes: [secondsAxis, {label: 'req/s', size: 70}],
      series: [{label: 'second'}, series('req/s', 0, {fill: 'rgba(31,119,180,0.1)'})]}, [t, data.samples.map(function (s) { return s.rps; })]);
    draw('chart-latency', {title: 'Latency over time', scales: seconds, axes: [secondsAxis, {label: 'latency', size: 70, values: function (u, vals) { return vals.map(ms); }}],
      series: [{label: 'second'}, series('p50', 0, {value: function (u, v) { return v == null ? '' : ms(v); }}), series('p99', 1, {value: function (u, v) { return v == null ? '' : ms(v); }})]},
      [t, data.samples.map(function (s) { return s.p50; }), data.samples.map(function (s) { return s.p99; })]);
    var kinds = [];
    data.samples.forEach(function (s) {
      Object.keys(s.status).forEach(function (k) { if (kinds.indexOf('status ' + k) < 0) kinds.push('status ' + k); });
      Object.keys(s.errorKinds).forEach(function (k) { if (kinds.indexOf('error ' + k) < 0) kinds.push('error ' + k); });
    });
    var outcome = [t];
    var outcomeSeries = [{label: 'second'}];
    kinds.forEach(function (kind, i) {
      var parts = kind.split(' ');
      // Rows span 1 s to 1.25 s: counts are scaled to a second so that rows compare.
      outcome.push(data.samples.map(function (s) { return s.ms > 0 ? Math.round((((parts[0] === 'status' ? s.status : s.errorKinds)[parts[1]] || 0) * 10000) / s.ms) / 10 : 0; }));
      outcomeSeries.push(series(kind, i, parts[0] === 'error' ? {dash: [6, 4]} : {}));
    });
    if (kinds.length > 0) draw('chart-outcomes', {title: 'Status codes and errors per second', scales: seconds, axes: [secondsAxis, {label: 'per second', size: 70}], series: outcomeSeries}, outcome);
  }
  window.addEventListener('resize', function () {
    Object.keys(charts).forEach(function (id) { charts[id].setSize({width: width(), height: 300}); });
  });
})();
`
