import { quotaStoreContract } from './quota-store.contract';

quotaStoreContract('postgres');
import { settleReleaseContract } from './quota-store.settle-release.contract';

settleReleaseContract('postgres');
