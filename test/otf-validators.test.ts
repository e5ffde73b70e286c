// The exported font as other tools read it: OpenType Sanitizer (the check Chrome and Firefox run
// before they use a web font) passes it, and fontTools reads every table and outline and finds
// A–Z, a–z and the space in its character map. Both are Debian packages that .ci/system-deps.sh
// installs; a machine without them fails here, saying so, rather than pass a font no validator read.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportGlyphs } from '../src-main/export/index.ts';
import { LETTERS, syntheticGlyphSet } from './helpers/synthetic.ts';

const PYTHON = '/usr/bin/python3';
const INSTALL = 'run .ci/system-deps.sh (as root) to install python3-fonttools and opentype-sanitizer';

/** Reads the font with fontTools: every table decompiled, every glyph drawn, and what a user would check. */
const READ_FONT = `
import json, sys
from fontTools.pens.boundsPen import BoundsPen
from fontTools.ttLib import TTFont
font = TTFont(sys.argv[1])
tables = sorted(font.keys())
for tag in tables:
    font[tag]
glyphs = font.getGlyphSet()
inked = []
# Each inked glyph's left side bearing in hmtx against its outline's left edge: a font editor
# shows the one and draws the other, and they should agree.
bearings = {}
for name in font.getGlyphOrder():
    pen = BoundsPen(glyphs)
    glyphs[name].draw(pen)
    if pen.bounds:
        inked.append(name)
        bearings[name] = [font["hmtx"][name][1], pen.bounds[0]]
cmap = font.getBestCmap()
codes = [32] + list(range(65, 91)) + list(range(97, 123))
print(json.dumps({
    "tables": tables,
    "unitsPerEm": font["head"].unitsPerEm,
    "family": font["name"].getDebugName(1),
    "cmap": {chr(c): cmap.get(c) for c in codes},
    "inked": inked,
    "bearings": bearings,
}))
`;

/** A validator's run; one that is not installed fails the test with what to do. */
function run(command: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error) throw new Error(`${command} could not run (${result.error.message}): ${INSTALL}`);
  if (/No module named '?fontTools/.test(result.stderr)) throw new Error(`${command} has no fontTools: ${INSTALL}`);
  return result;
}

let dir: string;
let font: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fontloom-otf-validators-'));
  const letters = syntheticGlyphSet({ fonts: 1, seed: 5 });
  font = join(dir, 'Loom.otf');
  await exportGlyphs({ images: letters.pixels, height: 32, width: 32, channels: 1, classNames: letters.classNames, format: 'otf', out: font, family: 'Loom Checked' });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('an exported OTF', () => {
  it('passes OpenType Sanitizer', () => {
    const ots = run('ots-sanitize', [font]);
    expect(ots.status, `ots-sanitize ${font}: ${ots.stdout}${ots.stderr}`).toBe(0);
  });

  it('is read whole by fontTools: every table and outline, A–Z, a–z and the space mapped, 1000 units per em', () => {
    const read = run(PYTHON, ['-c', READ_FONT, font]);
    expect(read.status, `fontTools could not read ${font}: ${read.stderr}`).toBe(0);
    const report = JSON.parse(read.stdout) as { tables: string[]; unitsPerEm: number; family: string; cmap: Record<string, string | null>; inked: string[]; bearings: Record<string, [number, number]> };
    expect(report.tables).toEqual(expect.arrayContaining(['CFF ', 'OS/2', 'cmap', 'head', 'hhea', 'hmtx', 'maxp', 'name', 'post']));
    expect(report.unitsPerEm).toBe(1000);
    expect(report.family).toBe('Loom Checked');
    expect(report.cmap[' ']).toBe('space');
    for (const letter of LETTERS) {
      expect(report.cmap[letter], letter).toBe(letter);
      expect(report.cmap[letter.toLowerCase()], letter.toLowerCase()).toBe(letter);
    }
    expect(report.inked).toEqual(expect.arrayContaining(['.notdef', ...LETTERS]));
    for (const [name, [hmtx, ink]] of Object.entries(report.bearings)) {
      expect(Math.abs(hmtx - ink), `${name}: hmtx left side bearing ${hmtx}, ink begins at ${ink}`).toBeLessThanOrEqual(1);
    }
  });
});
