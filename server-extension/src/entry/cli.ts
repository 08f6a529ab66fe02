// `npx solaris ...` (bin/solaris.cjs) and `node dist/solaris/server/cli.cjs ...` in the plugin build.
import { runCli } from '../cli/program';

runCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`error: ${(e as Error).message ?? String(e)}\n`);
    process.exit(1);
  },
);
