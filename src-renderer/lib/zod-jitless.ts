// The page's content security policy forbids eval: zod must know before any schema is built (it
// probes with `new Function` as it builds one, a console error on every load), so main.ts
// imports this module first.
import { z } from 'zod';

z.config({ jitless: true });
