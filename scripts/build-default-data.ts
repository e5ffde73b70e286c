// Builds Fontloom's embedded default dataset from the @fontsource packages pinned in
// data/default-fonts.txt: data/default.glyphs.gz (A–Z of each family, drawn by the fonts
// importer's rule at 32 px), data/default-128.glyphs.gz (the same glyphs drawn at 128 px, which
// the 128-pixel upsampler learns from) and data/default-manifest.json (what came from where, under which licence,
// and what was skipped and why). A developer's build step that fetches from the npm registry;
// tests and importers never run it. Same list, same tools → byte-identical outputs.
//
//   npm run data:build

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createGunzip, gzipSync } from 'node:zlib';
import sharp from 'sharp';
import tar from 'tar-stream';
import { contentHash, writeGlyphSet, type FontInfo, type GlyphSet } from '../src-main/data/glyphset.ts';
import {
  RENDER_RULE, fontInfo, glyphSetOfFonts, nameTableLicense, parseFont, renderFont,
} from '../src-main/data/importers/fonts.ts';
import { LETTERS } from '../src-main/data/importers/types.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LIST = join(ROOT, 'data/default-fonts.txt');
const GLYPHS_OUT = join(ROOT, 'data/default.glyphs.gz');
const LARGE_OUT = join(ROOT, 'data/default-128.glyphs.gz');
const MANIFEST_OUT = join(ROOT, 'data/default-manifest.json');
/** Outside the repository and reused across runs: a warm rebuild fetches nothing. */
const CACHE = join(tmpdir(), 'fontloom-fontsource-cache');
const PACKS_AT_ONCE = 8;
const SPECS_PER_PACK = 6;
const SIZE = 32;
/** The size the upsampler draws at: the same rule, four times finer. */
const LARGE_SIZE = 128;
/**
 * A family that must shrink below this to fit (scripts whose swashes reach far past the cell)
 * would be a small, faint outlier among the rest; the default set leaves it out.
 */
const MIN_FIT = 0.6;

interface Spec {
  name: string;
  version: string;
}

interface PackageFiles {
  packageJson: { license?: unknown };
  /** Latin WOFF files by their name under package/files/. */
  woffs: Map<string, Buffer>;
}

interface Kept {
  spec: Spec;
  file: string;
  info: FontInfo;
  npmLicense: string;
  nameTableLicense: string | null;
  pixels: Uint8Array;
  /** The same 26 letters at LARGE_SIZE. */
  large: Uint8Array;
  fit: number;
  fitLetter: string;
  capHeightFrom: string;
}

interface Skipped {
  spec: Spec;
  reason: string;
}

async function main(): Promise<void> {
  const started = Date.now();
  const specs = parseList(await readFile(LIST, 'utf8'));
  console.log(`${specs.length} packages in ${LIST}; cache ${CACHE}`);
  const fetchErrors = await fetchTarballs(specs);
  const kept: Kept[] = [];
  const skipped: Skipped[] = [];
  for (const spec of specs) {
    const fetchError = fetchErrors.get(specKey(spec));
    const outcome = fetchError ? { reason: fetchError } : await buildOne(spec);
    if ('reason' in outcome) skipped.push({ spec, reason: outcome.reason });
    else kept.push(outcome);
  }
  const set = glyphSetOfFonts(kept.map((font) => font.info), kept.map((font) => font.pixels), SIZE);
  const gz = await gzipGlyphSet(set);
  const largeSet = glyphSetOfFonts(kept.map((font) => font.info), kept.map((font) => font.large), LARGE_SIZE);
  const largeGz = await gzipGlyphSet(largeSet);
  await writeFile(GLYPHS_OUT, gz);
  await writeFile(LARGE_OUT, largeGz);
  await writeFile(MANIFEST_OUT, `${JSON.stringify(manifestOf(specs, kept, skipped, set, gz, largeSet, largeGz), null, 2)}\n`);
  const seconds = (Date.now() - started) / 1000;
  console.log(
    `${kept.length} families kept (${set.count} glyphs), ${skipped.length} skipped; ` +
      `${GLYPHS_OUT}: ${(gz.length / 1e6).toFixed(2)} MB; ${LARGE_OUT}: ${(largeGz.length / 1e6).toFixed(2)} MB; ${seconds.toFixed(1)} s`,
  );
  for (const { spec, reason } of skipped) console.log(`  skipped ${specKey(spec)}: ${reason}`);
}

/** One `@fontsource/name@version` a line; blank lines and # comments are ignored; sorted by name. */
function parseList(text: string): Spec[] {
  const specs = text.split('\n').map((line) => line.replace(/#.*/, '').trim()).filter(Boolean).map((line) => {
    const match = /^(@fontsource\/[a-z0-9-]+)@(\d+\.\d+\.\d+)$/.exec(line);
    if (!match) throw new Error(`${LIST}: "${line}" is not @fontsource/NAME@X.Y.Z (an exact version).`);
    return { name: match[1], version: match[2] };
  });
  return specs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function specKey(spec: Spec): string {
  return `${spec.name}@${spec.version}`;
}

/** npm pack's file name for a scoped package: @fontsource/lato@5.3.0 → fontsource-lato-5.3.0.tgz. */
function tarballName(spec: Spec): string {
  return `${spec.name.slice(1).replace('/', '-')}-${spec.version}.tgz`;
}

function tarballPath(spec: Spec): string {
  return join(CACHE, tarballName(spec));
}

/** Packs every uncached spec into the cache; returns the specs that could not be fetched, with why. */
async function fetchTarballs(specs: Spec[]): Promise<Map<string, string>> {
  await mkdir(CACHE, { recursive: true });
  const cached = new Set(await readdir(CACHE));
  const wanted = specs.filter((spec) => !cached.has(tarballName(spec)));
  console.log(`fetching ${wanted.length} packages (${specs.length - wanted.length} cached)`);
  const batches: Spec[][] = [];
  for (let i = 0; i < wanted.length; i += SPECS_PER_PACK) batches.push(wanted.slice(i, i + SPECS_PER_PACK));
  const errors = new Map<string, string>();
  await forEachConcurrently(batches, PACKS_AT_ONCE, async (batch) => {
    if (await npmPack(batch) === null) return;
    // One bad spec fails the whole call; pack the batch one by one to find which.
    for (const spec of batch) {
      const error = await npmPack([spec]);
      if (error !== null) errors.set(specKey(spec), `npm pack failed: ${error}`);
    }
  });
  return errors;
}

/** Packs into a fresh folder and renames into the cache, so the cache never holds half a tarball. */
async function npmPack(batch: Spec[]): Promise<string | null> {
  const staging = await mkdtemp(join(CACHE, '.staging-'));
  try {
    await promisify(execFile)('npm', ['pack', ...batch.map(specKey), '--pack-destination', staging, '--loglevel', 'error'], {
      maxBuffer: 64 * 1024 * 1024,
    });
    for (const spec of batch) await rename(join(staging, tarballName(spec)), tarballPath(spec));
    return null;
  } catch (err) {
    // npm's own words, less its blank "404" lines and the pointer to its debug log.
    const lines = String((err as { stderr?: string }).stderr ?? '').split('\n')
      .map((line) => line.replace(/^npm error\s*/, '').trim())
      .filter((line) => line.length > 4 && !line.startsWith('A complete log'));
    return lines.slice(0, 2).join('; ') || (err as Error).message;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function forEachConcurrently<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

async function buildOne(spec: Spec): Promise<Kept | { reason: string }> {
  let files: PackageFiles;
  try {
    files = await extractPackage(tarballPath(spec));
  } catch (err) {
    return { reason: `could not read the tarball: ${(err as Error).message}` };
  }
  const file = chooseWoff([...files.woffs.keys()]);
  if (file === null) return { reason: 'no latin subset (.woff) in the package' };
  const source = `${specKey(spec)}/files/${file}`;
  let font;
  try {
    font = parseFont(files.woffs.get(file)!);
  } catch (err) {
    return { reason: `${file} is not a font opentype.js can read: ${(err as Error).message}` };
  }
  const rendered = await renderFont(font, SIZE);
  if ('missing' in rendered) return { reason: `${file} lacks ${rendered.missing.join(', ')}` };
  if (rendered.fit.scale < MIN_FIT) {
    return {
      reason: `its ${rendered.fit.letter} fits the 32×32 cell only at ${Math.floor(rendered.fit.scale * 100)}% ` +
        `of the common cap height (the default set keeps ${MIN_FIT * 100}% or more)`,
    };
  }
  const large = await renderFont(font, LARGE_SIZE);
  if ('missing' in large) return { reason: `${file} lacks ${large.missing.join(', ')}` };
  const npmLicense = typeof files.packageJson.license === 'string' ? files.packageJson.license : 'unstated';
  const nameTable = nameTableLicense(font) ?? null;
  const info = fontInfo(font, source);
  return {
    spec,
    file,
    info: { ...info, license: nameTable ? `${npmLicense} (npm); ${nameTable}` : `${npmLicense} (npm)` },
    npmLicense,
    nameTableLicense: nameTable,
    pixels: rendered.pixels,
    large: large.pixels,
    fit: rendered.fit.scale,
    fitLetter: rendered.fit.letter,
    capHeightFrom: rendered.capHeightFrom,
  };
}

const LATIN_WOFF = /^package\/files\/([^/]+-latin-(\d+)-(normal|italic)\.woff)$/;

/** Reads package/package.json and the latin WOFFs from a tarball, skipping everything else. */
async function extractPackage(tarball: string): Promise<PackageFiles> {
  const extract = tar.extract();
  const done = pipeline(createReadStream(tarball), createGunzip(), extract);
  let packageJson: PackageFiles['packageJson'] | null = null;
  const woffs = new Map<string, Buffer>();
  for await (const entry of extract) {
    const name = entry.header.name;
    const woff = LATIN_WOFF.exec(name);
    if (name !== 'package/package.json' && !woff) {
      entry.resume();
      continue;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    if (woff) woffs.set(woff[1], Buffer.concat(chunks));
    else packageJson = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  }
  await done;
  if (packageJson === null) throw new Error('it has no package/package.json');
  return { packageJson, woffs };
}

/**
 * The regular (400, upright) latin WOFF, else the upright weight CSS would pick for 400 (500,
 * then lighter, then heavier), else the italic by the same order.
 */
function chooseWoff(files: string[]): string | null {
  const rank = (file: string) => {
    const [, , weight, style] = LATIN_WOFF.exec(`package/files/${file}`)!;
    const w = Number(weight);
    const byWeight = w === 400 ? 0 : w === 500 ? 1 : w < 400 ? 2 + (400 - w) : 1000 + w;
    return (style === 'italic' ? 10_000 : 0) + byWeight;
  };
  return [...files].sort((a, b) => rank(a) - rank(b))[0] ?? null;
}

/** The glyph set file as writeGlyphSet writes it, gzipped at level 9 (no name or time in the header). */
async function gzipGlyphSet(set: GlyphSet): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'fontloom-default-'));
  try {
    const path = join(dir, 'default.glyphs');
    await writeGlyphSet(path, set);
    return gzipSync(await readFile(path), { level: 9 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function manifestOf(specs: Spec[], kept: Kept[], skipped: Skipped[], set: GlyphSet, gz: Buffer, largeSet: GlyphSet, largeGz: Buffer) {
  const require = createRequire(import.meta.url);
  return {
    description:
      'Fontloom\'s embedded default dataset: A–Z of open-licensed font families from the @fontsource ' +
      'packages on npm, one face (the regular weight\'s latin WOFF) per family.',
    build: {
      command: 'npm run data:build',
      list: 'data/default-fonts.txt',
      renderer: RENDER_RULE,
      minimumFit: MIN_FIT,
      tools: {
        'opentype.js': require('opentype.js/package.json').version as string,
        sharp: sharp.versions.sharp,
        librsvg: sharp.versions.rsvg,
      },
    },
    totals: {
      packages: specs.length,
      families: kept.length,
      skipped: skipped.length,
      glyphs: set.count,
      shrunkToFit: kept.filter((font) => font.fit < 1).length,
      glyphsFile: 'data/default.glyphs.gz',
      glyphsFileBytes: gz.length,
      glyphsFileSha256: createHash('sha256').update(gz).digest('hex'),
      contentHash: contentHash(set),
      large: {
        size: LARGE_SIZE,
        glyphsFile: 'data/default-128.glyphs.gz',
        glyphsFileBytes: largeGz.length,
        glyphsFileSha256: createHash('sha256').update(largeGz).digest('hex'),
        contentHash: contentHash(largeSet),
      },
    },
    families: kept.map((font, id) => ({
      fontId: id,
      package: font.spec.name,
      version: font.spec.version,
      file: `files/${font.file}`,
      name: font.info.name,
      license: { npm: font.npmLicense, nameTable: font.nameTableLicense },
      glyphs: LETTERS.length,
      capHeightFrom: font.capHeightFrom,
      ...(font.fit < 1 && { shrunkTo: Number(font.fit.toFixed(3)), shrunkFor: font.fitLetter }),
    })),
    skipped: skipped.map(({ spec, reason }) => ({ package: spec.name, version: spec.version, reason })),
  };
}

await main();
