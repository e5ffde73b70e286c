// The studio's pages as hash routes (#/runs/abc), so reloads and the back button work in both
// the browser and the Electron window (which loads a file: URL).

export type Route =
  | { page: 'datasets' }
  | { page: 'train'; dataset: string | null }
  | { page: 'runs' }
  | { page: 'run'; id: string }
  | { page: 'generate'; id: string | null };

export const PAGES = [
  { page: 'datasets', label: 'Datasets' },
  { page: 'train', label: 'Train' },
  { page: 'runs', label: 'Runs' },
  { page: 'generate', label: 'Generate' },
] as const;

export function parseHash(hash: string): Route {
  const [path, query = ''] = hash.replace(/^#\/?/, '').split('?');
  const [page, id] = path.split('/').map((p) => decodeURIComponent(p));
  switch (page) {
    case 'train':
      return { page: 'train', dataset: new URLSearchParams(query).get('dataset') };
    case 'runs':
      return id ? { page: 'run', id } : { page: 'runs' };
    case 'generate':
      return { page: 'generate', id: id || null };
    default:
      return { page: 'datasets' };
  }
}

export function hrefFor(route: Route): string {
  switch (route.page) {
    case 'train':
      return route.dataset ? `#/train?dataset=${encodeURIComponent(route.dataset)}` : '#/train';
    case 'run':
      return `#/runs/${encodeURIComponent(route.id)}`;
    case 'generate':
      return route.id ? `#/generate/${encodeURIComponent(route.id)}` : '#/generate';
    default:
      return `#/${route.page}`;
  }
}

/** Which top-level tab a route belongs to (a run's page sits under Runs). */
export function tabOf(route: Route): (typeof PAGES)[number]['page'] {
  return route.page === 'run' ? 'runs' : route.page;
}
