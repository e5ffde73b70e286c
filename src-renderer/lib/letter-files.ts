// Reading what a designer gives in the browser: letter images and a font file as base64 for the
// API, large photos shrunk first, the font loaded into the page so its letters can be shown.
import { ALPHABET, type GivenFont, type GivenImage } from './given.ts';

/** The file's bytes, base64. */
export function base64Of(blob: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(reader.error ?? new Error('the file could not be read'));
    reader.readAsDataURL(blob);
  });
}

/** Images over this many bytes are sent shrunk: the model sees 32×32, and a request holds at most 10 MB. */
const SHRINK_OVER = 1_000_000;
const SHRUNK_SIDE = 1024;

/** A letter image ready to send: large photos shrunk to 1024 px a side (as PNG), the rest as they are. */
export async function letterImage(letter: string, file: File): Promise<GivenImage> {
  const blob = file.size > SHRINK_OVER ? await shrink(file) : file;
  const data = await base64Of(blob);
  const type = blob.type || 'image/png';
  return { letter, name: blob === file ? file.name : `${letter}.png`, data, url: `data:${type};base64,${data}` };
}

async function shrink(file: File): Promise<Blob> {
  const bitmap = await createImageBitmap(file).catch(() => null);
  if (!bitmap) return file; // The API names what is wrong with an image it cannot read.
  const scale = Math.min(1, SHRUNK_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  canvas.getContext('2d')!.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  return new Promise((resolve) => canvas.toBlob((b) => resolve(b ?? file), 'image/png'));
}

let fontFaces = 0;

/** A font file ready to send, all its capitals chosen, loaded into the page so its letters can be shown. */
export async function givenFont(file: File): Promise<GivenFont> {
  const bytes = await file.arrayBuffer();
  const family = `fontloom-given-${++fontFaces}`;
  let shown: string | null = family;
  try {
    const face = new FontFace(family, bytes);
    document.fonts.add(await face.load());
  } catch {
    shown = null;
  }
  return { name: file.name, data: await base64Of(file), family: shown, letters: [...ALPHABET] };
}
