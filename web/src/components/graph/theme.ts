// Colours of the map for the normal and the contrast theme. Node colours are hashed from the
// rank (image, process name, host) as in Scope, so related nodes share a colour, and quantised to
// a few hues so the renderer can fill each colour group with one path.
import { hashString } from '../../layout/seed';

export interface Theme {
  background: string;
  edge: string;
  edgeHighlight: string;
  label: string;
  labelMinor: string;
  labelHalo: string;
  stroke: string;
  selected: string;
  pseudoFill: string;
  hues: string[];
  stackFill: string;
}

const HUE_STEPS = 16;

function hues(s: number, l: number): string[] {
  return Array.from({ length: HUE_STEPS }, (_, i) => `hsl(${Math.round((i * 360) / HUE_STEPS)}, ${s}%, ${l}%)`);
}

export const NORMAL: Theme = {
  background: '#f8f8fb',
  edge: 'rgba(80, 90, 120, 0.35)',
  edgeHighlight: '#2f6fde',
  label: '#1d2330',
  labelMinor: '#5d6275',
  labelHalo: 'rgba(248, 248, 251, 0.85)',
  stroke: 'rgba(29, 35, 48, 0.55)',
  selected: '#ff7a00',
  pseudoFill: '#d4d6df',
  hues: hues(55, 68),
  stackFill: 'rgba(29, 35, 48, 0.18)',
};

export const CONTRAST: Theme = {
  background: '#000000',
  edge: 'rgba(255, 255, 255, 0.55)',
  edgeHighlight: '#ffe500',
  label: '#ffffff',
  labelMinor: '#e0e0e0',
  labelHalo: 'rgba(0, 0, 0, 0.9)',
  stroke: '#ffffff',
  selected: '#ffe500',
  pseudoFill: '#707070',
  hues: hues(90, 45),
  stackFill: 'rgba(255, 255, 255, 0.35)',
};

export function themeFor(contrast: boolean): Theme {
  return contrast ? CONTRAST : NORMAL;
}

/** Index into `hues` for a node: by rank, else label. */
export function colourIndex(rank: string | undefined, label: string): number {
  return hashString(rank || label) % HUE_STEPS;
}
