import { LocalCounterStore } from '../../src/limits/local-counter-store.ts';
import { counterStoreContract } from './counter-store-contract.ts';

counterStoreContract('local', async (t) => {
  const store = new LocalCounterStore();
  t.after(() => store.close());
  return store;
});
