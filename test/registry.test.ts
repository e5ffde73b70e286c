// The dataset registry: imports land whole or not at all, and what a killed import left behind
// is swept at the next start.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { contentHash } from '../src-main/data/glyphset.ts';
import { storeFor } from '../src-main/store/store.ts';
import { DEFAULT_DATASET, openRegistry } from '../src-main/data/registry.ts';
import { STUDIO_SETTING_NAMES } from '../src-main/contract/api.ts';
import { CLI_SETTING_NAMES } from '../src-main/cli/options.ts';
import { userMessage, type UserError } from '../src-main/errors.ts';
import { syntheticGlyphSet } from './helpers/synthetic.ts';

/** A glyph set whose every glyph is its own "font", as a CSV without a font column makes. */
function fontlessSet(seed: number) {
  const set = syntheticGlyphSet({ fonts: 3, seed });
  return { ...set, fontIds: Int32Array.from(set.labels, (_, i) => i), fonts: Array.from(set.labels, (_, i) => ({ name: `row ${i + 1}` })) };
}

let home: string;

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'fontloom-registry-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('the dataset registry', () => {
  it('registers a glyph set, lists it, finds it by id or name and loads the same glyphs', async () => {
    const registry = await openRegistry(home);
    const set = syntheticGlyphSet({ fonts: 3, seed: 1 });
    const { record, existing } = await registry.register(set, { name: 'My letters', format: 'kaggle', source: '/somewhere' });
    expect(existing).toBe(false);
    expect(record).toMatchObject({ name: 'My letters', format: 'kaggle', count: 78, classes: 26, fonts: 3, height: 32, width: 32, channels: 1 });
    expect(record.id).toMatch(/^my-letters-[0-9a-f]{8}$/);
    expect((await registry.list()).map((d) => d.id)).toEqual([record.id]);
    expect((await registry.find('My letters')).id).toBe(record.id);
    const loaded = await registry.load(await registry.find(record.id));
    expect(contentHash(loaded)).toBe(contentHash(set));

    const reopened = await openRegistry(home);
    expect((await reopened.list()).map((d) => d.id)).toEqual([record.id]);
  });

  it('recognises the same glyphs imported twice, and refuses a second dataset with a taken name', async () => {
    const registry = await openRegistry(home);
    const a = await registry.register(syntheticGlyphSet({ fonts: 2, seed: 1 }), { name: 'a', format: 'csv', source: 'x' });
    const again = await registry.register(syntheticGlyphSet({ fonts: 2, seed: 1 }), { name: 'b', format: 'csv', source: 'y' });
    expect(again).toEqual({ record: a.record, existing: true });
    const clash = (await registry.register(syntheticGlyphSet({ fonts: 2, seed: 2 }), { name: 'a', format: 'csv', source: 'z' }).catch((e: unknown) => e)) as UserError;
    expect(clash).toMatchObject({ setting: 'name', message: expect.stringMatching(/named "a" exists already/) });
    // Each surface points to the name its own way: the CLI by its flag, the studio by its control.
    expect(userMessage(clash, CLI_SETTING_NAMES)).toBe('a dataset named "a" exists already: choose another name with --name');
    expect(userMessage(clash, STUDIO_SETTING_NAMES)).toBe('a dataset named "a" exists already: choose another name under Import options');
    expect(await registry.list()).toHaveLength(1);
  });

  it('knows whether a dataset says which glyphs share a font', async () => {
    const registry = await openRegistry(home);
    const fonts = await registry.register(syntheticGlyphSet({ fonts: 3, seed: 1 }), { name: 'fonts', format: 'kaggle', source: 'x' });
    const rows = await registry.register(fontlessSet(2), { name: 'rows', format: 'csv', source: 'y' });
    expect(fonts.record).toMatchObject({ fonts: 3, fontsKnown: true });
    expect(rows.record).toMatchObject({ fonts: 78, fontsKnown: false });
    expect((await openRegistry(home).then((r) => r.list())).map((d) => d.fontsKnown)).toEqual([true, false]);
  });

  it('reads a file named like a font as a font, and says why it is not one', async () => {
    const registry = await openRegistry(home);
    const junk = join(home, 'Brush.ttf');
    await writeFile(junk, 'these are my notes, not a font\n');
    const err = (await registry.import(junk).catch((e: unknown) => e)) as UserError;
    expect(err.message).toBe(
      `${junk} could not be read as a font: it does not begin as TrueType, OpenType and WOFF fonts do (it begins “these are my not…”). ` +
        'It may be another kind of file named like a font, or a damaged one.',
    );
  });

  it('points to the format setting for a file no importer recognises, each surface its own way', async () => {
    const registry = await openRegistry(home);
    const notes = join(home, 'notes.txt');
    await writeFile(notes, 'these are my notes, not glyphs\n');
    const err = (await registry.import(notes).catch((e: unknown) => e)) as UserError;
    expect(err).toMatchObject({ setting: 'format', message: expect.stringMatching(/notes\.txt is not a dataset Fontloom recognises/) });
    expect(userMessage(err, CLI_SETTING_NAMES)).toMatch(/If it is one of these, choose its format with --format\.$/);
    expect(userMessage(err, STUDIO_SETTING_NAMES)).toMatch(/If it is one of these, choose its format under Import options\.$/);
    expect(userMessage(err, STUDIO_SETTING_NAMES)).not.toMatch(/--/);
  });

  it('says which datasets exist when asked for one that does not', async () => {
    const registry = await openRegistry(home);
    await expect(registry.find('nope')).rejects.toThrow(/no dataset "nope": none imported yet/);
    await registry.register(syntheticGlyphSet({ fonts: 2, seed: 1 }), { name: 'kept', format: 'csv', source: 'x' });
    await expect(registry.find('nope')).rejects.toThrow(/no dataset "nope": there are kept-[0-9a-f]+ \("kept"\)/);
  });

  it('deletes a dataset with its files', async () => {
    const registry = await openRegistry(home);
    const { record } = await registry.register(syntheticGlyphSet({ fonts: 2, seed: 1 }), { name: 'gone', format: 'csv', source: 'x' });
    await registry.remove('gone');
    expect(await registry.list()).toEqual([]);
    expect(await readdir(join(home, 'datasets'))).toEqual([]);
    expect(existsSync(join(home, 'datasets', record.id))).toBe(false);
  });

  it('sweeps what a killed import or delete left: partial folders go, complete folders are listed again', async () => {
    const registry = await openRegistry(home);
    const { record } = await registry.register(syntheticGlyphSet({ fonts: 2, seed: 1 }), { name: 'whole', format: 'csv', source: 'x' });
    // A kill while writing: a partial folder with half a file.
    await mkdir(join(home, 'datasets', '.partial-half-abc123'));
    await writeFile(join(home, 'datasets', '.partial-half-abc123', 'set.glyphs'), 'FLGLYPH1 half');
    // A kill after the rename but before the row was written: the table forgot a complete dataset.
    storeFor(home).deleteDataset(record.id);
    const reopened = await openRegistry(home);
    expect((await reopened.list()).map((d) => d.id)).toEqual([record.id]);
    expect(await readdir(join(home, 'datasets'))).toEqual([record.id]);
  });

  it('adopts a folder whose record predates fontsKnown, judging it from the glyphs', async () => {
    const registry = await openRegistry(home);
    const { record } = await registry.register(syntheticGlyphSet({ fonts: 3, seed: 3 }), { name: 'old letters', format: 'kaggle', source: 'x' });
    const { fontsKnown: _, ...older } = record;
    await writeFile(join(home, 'datasets', record.id, 'dataset.json'), JSON.stringify(older));
    storeFor(home).deleteDataset(record.id);
    expect(await (await openRegistry(home)).list()).toEqual([{ ...record, fontsKnown: true }]);
  });

  it('registers the embedded default dataset once', async () => {
    if (!existsSync(DEFAULT_DATASET)) throw new Error(`the embedded default ${DEFAULT_DATASET} is missing: npm run data:build`);
    const registry = await openRegistry(home);
    const first = await registry.ensureDefault();
    expect(first.existing).toBe(false);
    expect(first.record).toMatchObject({ name: 'default', format: 'default', classes: 26, height: 32, width: 32, channels: 1 });
    expect(first.record.fonts).toBeGreaterThanOrEqual(300);
    expect(first.record.fontsKnown).toBe(true);
    expect((await registry.ensureDefault()).existing).toBe(true);
  });
});
