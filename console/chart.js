// A small canvas chart: attempt starts per second (bars) against the rate limit (line).
export function rateChart(canvas, starts, limits, opts = {}) {
  const dpr = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || Number(canvas.getAttribute('width')) || 480;
  const height = canvas.clientHeight || Number(canvas.getAttribute('height')) || 120;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  const g = canvas.getContext('2d');
  g.scale(dpr, dpr);
  g.clearRect(0, 0, width, height);
  const seconds = opts.seconds || 120;
  const s = starts.slice(-seconds);
  const l = limits.slice(-seconds);
  const max = Math.max(1, ...s, ...l) * 1.15;
  const left = 36, bottom = 16, top = 6;
  const plotW = width - left - 4, plotH = height - bottom - top;
  const y = (v) => top + plotH - (v / max) * plotH;
  const barW = plotW / seconds;
  g.font = '10px system-ui, sans-serif';
  g.fillStyle = '#667';
  g.strokeStyle = '#dde';
  g.lineWidth = 1;
  for (const frac of [0, 0.5, 1]) {
    const v = Math.round(max * frac / 1.15);
    g.beginPath(); g.moveTo(left, y(v)); g.lineTo(width - 4, y(v)); g.stroke();
    g.fillText(String(v), 2, y(v) + 3);
  }
  g.fillText(`last ${seconds} s`, left, height - 3);
  const offset = seconds - s.length;
  g.fillStyle = '#3b7dd8';
  s.forEach((v, i) => {
    const x = left + (offset + i) * barW;
    g.fillRect(x, y(v), Math.max(1, barW - 1), top + plotH - y(v));
  });
  if (l.length) {
    g.strokeStyle = '#d9534f';
    g.lineWidth = 1.5;
    g.beginPath();
    l.forEach((v, i) => {
      const x = left + (offset + i) * barW;
      if (i === 0) g.moveTo(x, y(v)); else g.lineTo(x, y(v));
      g.lineTo(x + barW, y(v));
    });
    g.stroke();
  }
}
