import { quotaStoreContract } from './quota-store.contract';

quotaStoreContract('postgres');
