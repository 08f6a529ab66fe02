import { createRequire } from 'node:module';
import { dirname, resolve, sep } from 'node:path';
import type { Mongoose } from 'mongoose';

/**
 * Where LibreChat lives. Its server is started as `node api/server/index.js` (LibreChat package.json script
 * `backend`), so `process.argv[1]` is `<root>/api/server/index.js` and its `api/` folder is two levels up.
 * LibreChat has a single mongoose copy, hoisted to its root node_modules; resolving from `api/` finds that
 * copy (resolving from our own folder would find ours, a different instance whose plugins never apply).
 */
export function libreChatApiDir(env: NodeJS.ProcessEnv = process.env, argv1 = process.argv[1] ?? ''): string {
  if (env.SOLARIS_LIBRECHAT_API_DIR) return resolve(env.SOLARIS_LIBRECHAT_API_DIR);
  return dirname(dirname(resolve(argv1)));
}

/** LibreChat's own mongoose module (the instance its models are compiled on). */
export function loadHostMongoose(apiDir: string): Mongoose {
  const req = createRequire(apiDir.endsWith(sep) ? apiDir : apiDir + sep);
  const path = req.resolve('mongoose', { paths: [apiDir] });
  return req(path) as Mongoose;
}
