// One import as the user sees it: their files staged (uploaded, in browser mode), then the
// importer's progress from `import` events carrying the job id chosen here.
import { DATASET_FORMAT_CHOICES, type Outputs } from '../../src-main/contract/api.ts';
import { ApiError, type StagedFile, type StudioClient } from './api/types.ts';
import { describeFiles } from './files.ts';

export type DatasetFormatChoice = (typeof DATASET_FORMAT_CHOICES)[number];

export interface ImportProgress {
  phase: string;
  done: number;
  total: number | null;
}

export type ImportSource = { files: StagedFile[] } | { path: string };

function jobId(): string {
  return `import-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export async function importDataset(
  client: StudioClient,
  source: ImportSource,
  options: { name?: string; format?: DatasetFormatChoice },
  onProgress: (p: ImportProgress) => void,
): Promise<Outputs['importDataset']> {
  const path =
    'path' in source
      ? source.path
      : await client.stage(source.files, (done, total) => onProgress({ phase: 'Copying files', done, total }));
  const job = jobId();
  const stop = client.on((event) => {
    if (event.type === 'import' && event.job === job) onProgress({ phase: event.phase, done: event.done, total: event.total });
  });
  try {
    onProgress({ phase: 'Reading', done: 0, total: null });
    return await client.call('importDataset', {
      path,
      job,
      ...(options.name?.trim() && { name: options.name.trim() }),
      ...(options.format && options.format !== 'auto' && { format: options.format }),
    });
  } catch (err) {
    // An uploaded copy's path means nothing to the user: name what they dropped instead.
    if (err instanceof ApiError && 'files' in source) throw new ApiError(err.message.split(path).join(describeFiles(source.files)), err.code, err.setting);
    throw err;
  } finally {
    stop();
  }
}
