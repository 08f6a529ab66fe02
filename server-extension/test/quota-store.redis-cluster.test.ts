import { quotaStoreContract } from './quota-store.contract';

quotaStoreContract('redis-cluster');
