// A dataset's figures in words.
import type { Dataset } from '../../src-main/contract/api.ts';
import { integer } from './format.ts';

export function datasetSummary(d: Dataset): string {
  const colour = d.channels === 1 ? 'grey' : d.channels === 3 ? 'RGB' : `${d.channels} channels`;
  const fonts = d.format === 'cifar10' ? '' : ` · ${integer(d.fonts)} fonts`;
  return `${integer(d.count)} images · ${d.classes} classes${fonts} · ${d.height}×${d.width} ${colour}`;
}

export function classList(d: Dataset): string {
  const names = d.classNames;
  if (names.length === 26 && names.join('') === 'ABCDEFGHIJKLMNOPQRSTUVWXYZ') return 'A–Z';
  return names.join(', ');
}
