// Turning a drop or a file picker into files with their paths inside what the user gave, so a
// dropped Kaggle folder arrives as Kaggle/Images/Images/A/0.png and not as 390,000 loose PNGs.
import type { StagedFile } from './api/types.ts';

const HIDDEN = /(^|\/)(\.|__MACOSX(\/|$))/;

function isVisible(relativePath: string): boolean {
  return !HIDDEN.test(relativePath);
}

function readAll(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  // readEntries answers in chunks (100 in Chromium) until it answers with none.
  return new Promise((resolve, reject) => {
    const all: FileSystemEntry[] = [];
    const next = () =>
      reader.readEntries((entries) => {
        if (entries.length === 0) return resolve(all);
        all.push(...entries);
        next();
      }, reject);
    next();
  });
}

function fileOf(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

async function walk(entry: FileSystemEntry, prefix: string, out: StagedFile[]): Promise<void> {
  const relativePath = prefix ? `${prefix}/${entry.name}` : entry.name;
  if (!isVisible(relativePath)) return;
  if (entry.isFile) {
    out.push({ file: await fileOf(entry as FileSystemFileEntry), relativePath });
    return;
  }
  const children = await readAll((entry as FileSystemDirectoryEntry).createReader());
  for (const child of children) await walk(child, relativePath, out);
}

/**
 * The files of a drop. Items must be read during the drop event itself, so entries are taken
 * synchronously and walked afterwards. With `walkFolders` false (Electron, which knows paths),
 * a dropped folder stays one item.
 */
export function filesFromDrop(transfer: DataTransfer, walkFolders: boolean): Promise<StagedFile[]> {
  const items = [...transfer.items].filter((item) => item.kind === 'file');
  const taken = items.map((item) => ({ entry: item.webkitGetAsEntry?.() ?? null, file: item.getAsFile() }));
  if (taken.length === 0) taken.push(...[...transfer.files].map((file) => ({ entry: null, file })));
  return (async () => {
    const out: StagedFile[] = [];
    for (const { entry, file } of taken) {
      if (entry && entry.isDirectory && walkFolders) await walk(entry, '', out);
      else if (file) out.push({ file, relativePath: file.name });
    }
    return out;
  })();
}

/** The files of an `<input type=file>`, a folder picker's with their paths inside the folder. */
export function filesFromInput(list: FileList | null): StagedFile[] {
  return [...(list ?? [])]
    .map((file) => ({ file, relativePath: file.webkitRelativePath || file.name }))
    .filter((f) => isVisible(f.relativePath));
}

/** A few words for what was given: "Kaggle/ (27 files)" or "letters.csv". */
export function describeFiles(files: StagedFile[]): string {
  if (files.length === 1) return files[0].relativePath;
  const tops = [...new Set(files.map((f) => f.relativePath.split('/')[0]))];
  const what = tops.length === 1 ? `${tops[0]}/` : `${tops.length} items`;
  return `${what} (${files.length.toLocaleString('en')} files)`;
}
