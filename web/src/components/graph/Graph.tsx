// The map: a canvas drawn from the graph model, with zoom (wheel, buttons), pan (drag), hover
// highlighting of neighbours, and click to open details. Node hit testing is geometric, so a
// click lands on whatever is drawn under the pointer; tests find nodes through window.__scope.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Transform } from '../../layout/viewport';
import { IDENTITY, boundsOf, fit, pan, toWorld, zoomAt } from '../../layout/viewport';
import { formatMetric } from '../../domain/format';
import { useApp, useServices } from '../context';
import { drawScene, hitTest, neighbourhood } from './draw';
import { Snapshot } from './snapshot';
import { themeFor } from './theme';
import { currentGraph, perf, registerGraph } from './hooks';

/** A gesture has paused when no wheel event came for this long; then the map is drawn in full. */
const GESTURE_PAUSE_MS = 150;
/** Frames cheaper than this are drawn in full even during a gesture. */
const CHEAP_FRAME_MS = 8;

interface Tip {
  x: number;
  y: number;
  index: number;
}

export function Graph() {
  const { controller, model } = useServices();
  const contrast = useApp((s) => s.view.contrast);
  const selectedId = useApp((s) => s.view.node);
  const topology = useApp((s) => s.view.topology);
  const wrap = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const [tip, setTip] = useState<Tip | null>(null);

  // Mutable render state kept out of Preact: redrawing must not re-render components.
  const st = useRef({
    t: IDENTITY as Transform,
    autoFit: true,
    width: 0,
    height: 0,
    dpr: 1,
    hovered: -1,
    highlight: null as Set<number> | null,
    frame: 0,
    /** Cost of the last full frame: cheap maps are always drawn in full, even mid-gesture. */
    fullMs: 0,
    dragging: false,
    lastWheel: -Infinity,
    wheelTimer: 0 as ReturnType<typeof setTimeout> | 0,
    contrast,
    selectedId,
  });
  st.current.contrast = contrast;
  st.current.selectedId = selectedId;

  useEffect(() => {
    const el = canvas.current;
    const box = wrap.current;
    if (!el || !box) return;
    const ctx = el.getContext('2d', { alpha: false });
    if (!ctx) return;
    const s = st.current;

    const snapshot = new Snapshot();
    const drawFull = (target: CanvasRenderingContext2D, t: Transform, width: number, height: number): { nodes: number } => {
      const scene = model.scene;
      const selected = scene && s.selectedId !== null ? (scene.index.get(s.selectedId) ?? -1) : -1;
      return drawScene(target, scene, t, {
        width,
        height,
        dpr: s.dpr,
        theme: themeFor(s.contrast),
        hovered: s.hovered,
        highlight: s.highlight,
        selected,
      });
    };
    const render = (): void => {
      s.frame = 0;
      const scene = model.scene;
      if (s.autoFit && scene) {
        const b = boundsOf(scene.xy, (i) => (scene.vis[i] ?? 2) !== 2 && scene.nodes[i] !== undefined);
        if (b) s.t = fit(b, s.width, s.height);
      }
      const started = performance.now();
      const gesture = s.dragging || started - s.lastWheel < GESTURE_PAUSE_MS;
      if (gesture && s.fullMs > CHEAP_FRAME_MS) {
        if (!snapshot.valid) snapshot.capture(s.t, s.width, s.height, s.dpr, drawFull);
        snapshot.blit(ctx, s.t, s.width, s.height, s.dpr, themeFor(s.contrast).background);
        perf.frame(started, performance.now(), scene?.ids.length ?? 0);
        return;
      }
      snapshot.invalidate();
      const drawn = drawFull(ctx, s.t, s.width, s.height);
      const ended = performance.now();
      s.fullMs = ended - started;
      perf.frame(started, ended, drawn.nodes);
    };
    const request = (): void => {
      if (!s.frame) s.frame = requestAnimationFrame(render);
    };

    const resize = (): void => {
      const r = box.getBoundingClientRect();
      s.dpr = Math.min(window.devicePixelRatio || 1, 2);
      s.width = Math.max(1, Math.floor(r.width));
      s.height = Math.max(1, Math.floor(r.height));
      el.width = Math.floor(s.width * s.dpr);
      el.height = Math.floor(s.height * s.dpr);
      el.style.width = `${s.width}px`;
      el.style.height = `${s.height}px`;
      request();
    };
    const ro = new ResizeObserver(resize);
    ro.observe(box);
    resize();

    const offModel = model.onChange(() => {
      // Indices change when the graph changes: recompute the hover set against the new scene.
      if (s.hovered >= 0) {
        const id = controller.store.get().hovered;
        const scene = model.scene;
        s.hovered = id && scene ? (scene.index.get(id) ?? -1) : -1;
        s.highlight = s.hovered >= 0 && scene ? neighbourhood(scene, s.hovered) : null;
      }
      request();
    });

    // ---- pointer: pan, hover, click ----
    let drag: { x: number; y: number; moved: boolean; id: number } | null = null;
    const local = (e: MouseEvent): { x: number; y: number } => {
      const r = el.getBoundingClientRect();
      return { x: e.clientX - r.left, y: e.clientY - r.top };
    };
    const setHover = (i: number, p: { x: number; y: number } | null): void => {
      const scene = model.scene;
      if (i !== s.hovered) {
        s.hovered = i;
        s.highlight = i >= 0 && scene ? neighbourhood(scene, i) : null;
        controller.setHovered(i >= 0 && scene ? (scene.ids[i] ?? null) : null);
        el.style.cursor = i >= 0 ? 'pointer' : 'grab';
        request();
      }
      setTip(i >= 0 && p ? { x: p.x, y: p.y, index: i } : null);
    };
    const onDown = (e: PointerEvent): void => {
      if (e.button !== 0) return;
      el.setPointerCapture(e.pointerId);
      drag = { x: e.clientX, y: e.clientY, moved: false, id: e.pointerId };
    };
    const onMove = (e: PointerEvent): void => {
      const p = local(e);
      if (drag) {
        const dx = e.clientX - drag.x;
        const dy = e.clientY - drag.y;
        if (!drag.moved && Math.hypot(dx, dy) < 4) return;
        if (!drag.moved) setHover(-1, null);
        drag.moved = true;
        s.dragging = true;
        drag.x = e.clientX;
        drag.y = e.clientY;
        s.autoFit = false;
        s.t = pan(s.t, dx, dy);
        el.style.cursor = 'grabbing';
        request();
        return;
      }
      const w = toWorld(s.t, p.x, p.y);
      setHover(hitTest(model.scene, w.x, w.y, 4 / s.t.k), p);
    };
    const onUp = (e: PointerEvent): void => {
      const d = drag;
      drag = null;
      if (s.dragging) {
        s.dragging = false;
        request(); // the full drawing again
      }
      if (!d || d.id !== e.pointerId) return;
      el.style.cursor = s.hovered >= 0 ? 'pointer' : 'grab';
      if (d.moved) return;
      const p = local(e);
      const w = toWorld(s.t, p.x, p.y);
      const i = hitTest(model.scene, w.x, w.y, 4 / s.t.k);
      const id = i >= 0 ? (model.scene?.ids[i] ?? null) : null;
      controller.selectNode(id);
    };
    const onLeave = (): void => {
      if (!drag) setHover(-1, null);
    };
    const onWheel = (e: WheelEvent): void => {
      e.preventDefault();
      const p = local(e);
      // Trackpads send small deltas often, mice big ones rarely: exponential feels right for both.
      const factor = Math.exp(-e.deltaY * (e.deltaMode === 1 ? 0.05 : 0.0015));
      s.autoFit = false;
      s.t = zoomAt(s.t, factor, p.x, p.y);
      s.lastWheel = performance.now();
      if (s.wheelTimer) clearTimeout(s.wheelTimer);
      s.wheelTimer = setTimeout(() => {
        s.wheelTimer = 0;
        request();
      }, GESTURE_PAUSE_MS + 10);
      request();
    };
    el.addEventListener('pointerdown', onDown);
    el.addEventListener('pointermove', onMove);
    el.addEventListener('pointerup', onUp);
    el.addEventListener('pointercancel', onUp);
    el.addEventListener('pointerleave', onLeave);
    el.addEventListener('wheel', onWheel, { passive: false });

    const unregister = registerGraph({
      scene: () => model.scene,
      transform: () => s.t,
      canvas: () => el,
      setTransform: (t) => {
        s.autoFit = false;
        s.t = t;
        request();
      },
      zoom: (f) => {
        s.autoFit = false;
        s.t = zoomAt(s.t, f, s.width / 2, s.height / 2);
        request();
      },
      fit: () => {
        s.autoFit = true;
        request();
      },
      redraw: request,
    });

    return () => {
      unregister();
      ro.disconnect();
      offModel();
      if (s.frame) cancelAnimationFrame(s.frame);
      if (s.wheelTimer) clearTimeout(s.wheelTimer);
      el.removeEventListener('pointerdown', onDown);
      el.removeEventListener('pointermove', onMove);
      el.removeEventListener('pointerup', onUp);
      el.removeEventListener('pointercancel', onUp);
      el.removeEventListener('pointerleave', onLeave);
      el.removeEventListener('wheel', onWheel);
    };
  }, [controller, model]);

  // A new topology frames itself again; theme and selection changes just redraw.
  useEffect(() => {
    st.current.autoFit = true;
  }, [topology]);
  useEffect(() => {
    currentGraph()?.redraw();
  }, [contrast, selectedId]);

  const tipNode = tip ? model.scene?.nodes[tip.index] : undefined;
  return (
    <div class="graph" ref={wrap}>
      <canvas ref={canvas} class="graph-canvas" role="img" aria-label="Map of the topology. The table view lists the same nodes." data-testid="graph-canvas" />
      {tip && tipNode && (
        <div class="tooltip" style={{ left: `${tip.x + 14}px`, top: `${tip.y + 14}px` }} role="tooltip">
          <div class="tooltip-label">{tipNode.label}</div>
          {tipNode.labelMinor && <div class="tooltip-minor">{tipNode.labelMinor}</div>}
          {(tipNode.metrics ?? []).slice(0, 3).map((m) => (
            <div class="tooltip-metric" key={m.id}>
              {m.label}: {formatMetric(m)}
            </div>
          ))}
        </div>
      )}
      <div class="zoom-controls">
        <button type="button" title="Zoom in" aria-label="Zoom in" onClick={() => currentGraph()?.zoom(1.4)}>
          +
        </button>
        <button type="button" title="Zoom out" aria-label="Zoom out" onClick={() => currentGraph()?.zoom(1 / 1.4)}>
          −
        </button>
        <button type="button" title="Fit the map" aria-label="Fit the map" onClick={() => currentGraph()?.fit()}>
          ⤢
        </button>
      </div>
    </div>
  );
}
