/** dwstat (GetSysStatus): human tables of pools and sessions. */
import { runCli } from './run';
import { UsageError } from './exit-codes';

if (require.main === module) {
  void runCli('dwstat', process.argv.slice(2), async () => {
    throw new UsageError('dwstat is not implemented yet');
  });
}
