// The current route, kept in step with location.hash.
import { hrefFor, parseHash, type Route } from './routes.ts';

class Router {
  current = $state<Route>(parseHash(location.hash));

  constructor() {
    window.addEventListener('hashchange', () => {
      this.current = parseHash(location.hash);
    });
  }
}

export const router = new Router();

export function go(route: Route): void {
  location.hash = hrefFor(route);
}
