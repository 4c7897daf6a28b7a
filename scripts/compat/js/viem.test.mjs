// viem against a running Parallax dev sequencer (started by scripts/compat/run.sh).
//
// Environment: PARALLAX_RPC_URL (http://host:port), PARALLAX_WS_URL (ws://host:port, same port),
// COMPAT_KEY (a funded dev key), COUNTER_ARTIFACT (forge output of foundry/src/Counter.sol).
//
// Every block starts with the L1-info deposit (type 0x7e). viem's default formatters leave such a
// transaction with `type: undefined` and `mint` as a raw hex string; the OP Stack chain config
// (`chainConfig` from `viem/op-stack`: block/transaction/receipt formatters for deposits, and the
// deposit serializer) is what OP-chain users pass, so the chain below is defined with it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import {
  BaseError,
  ContractFunctionRevertedError,
  InsufficientFundsError,
  NonceTooLowError,
  createPublicClient,
  createWalletClient,
  defineChain,
  http,
  parseEther,
  parseGwei,
  webSocket,
} from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { chainConfig } from 'viem/op-stack';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set (scripts/compat/run.sh sets it)`);
  return value;
};
const RPC_URL = env('PARALLAX_RPC_URL');
const WS_URL = env('PARALLAX_WS_URL');
const account = privateKeyToAccount(env('COMPAT_KEY'));
const artifact = JSON.parse(readFileSync(env('COUNTER_ARTIFACT'), 'utf8'));
const abi = artifact.abi;
const bytecode = artifact.bytecode.object;

// Addresses of the L1-info deposit (protocol/src/predeploys.rs).
const L1_INFO_DEPOSITOR = '0xdeaddeaddeaddeaddeaddeaddeaddeaddead0001';
const L1_BLOCK = '0x4200000000000000000000000000000000000015';
const L1_FEE_VAULT = '0x420000000000000000000000000000000000001a';

const parallaxDev = defineChain({
  ...chainConfig,
  id: 901,
  name: 'Parallax dev',
  nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
  rpcUrls: { default: { http: [RPC_URL], webSocket: [WS_URL] } },
  blockTime: 300,
});

const client = createPublicClient({ chain: parallaxDev, transport: http(RPC_URL), pollingInterval: 100 });
const wsClient = createPublicClient({ chain: parallaxDev, transport: webSocket(WS_URL) });
const wallet = createWalletClient({ account, chain: parallaxDev, transport: http(RPC_URL), pollingInterval: 100 });

const RECEIPT_TIMEOUT = 15_000;
const waitReceipt = (hash) => client.waitForTransactionReceipt({ hash, timeout: RECEIPT_TIMEOUT, pollingInterval: 100 });

/** Resolves with the first value `subscribe(push)` pushes, or rejects after `ms`. */
function firstPush(subscribe, ms, what) {
  return new Promise((resolve, reject) => {
    let unwatch = () => {};
    const timer = setTimeout(() => {
      unwatch();
      reject(new Error(`no ${what} pushed within ${ms} ms`));
    }, ms);
    unwatch = subscribe((value) => {
      clearTimeout(timer);
      unwatch();
      resolve(value);
    }, (error) => {
      clearTimeout(timer);
      unwatch();
      reject(error);
    });
  });
}

/** Runs `fn`, turning a viem error into a one-line one, so a failure reads as the RPC error. */
async function briefly(fn) {
  try {
    return await fn();
  } catch (error) {
    const brief = new Error(error instanceof BaseError ? `${error.shortMessage.split('\n')[0]} (${error.details})` : String(error));
    brief.stack = brief.message;
    throw brief;
  }
}

/** The cause of `error` that is an instance of `Kind`, if any (viem wraps node errors). */
function causeOf(error, Kind) {
  return error instanceof BaseError ? error.walk((e) => e instanceof Kind) : null;
}

let counter; // deployed Counter address
let deployBlock;

before(async () => {
  // The sequencer may be a moment behind its RPC socket: wait for a block past genesis.
  for (let i = 0; i < 50 && (await client.getBlockNumber()) < 1n; i++) await new Promise((r) => setTimeout(r, 100));
});

after(async () => {
  const socket = await wsClient.transport.getRpcClient();
  socket.close();
});

test('chain id, client version, blocks advance', async () => {
  assert.equal(await client.getChainId(), 901);
  assert.equal(await wsClient.getChainId(), 901, 'chain id over WebSocket');
  const version = await client.request({ method: 'web3_clientVersion' });
  assert.match(version, /^parallax\//);
  const first = await client.getBlockNumber({ cacheTime: 0 });
  await new Promise((r) => setTimeout(r, 800));
  assert.ok((await client.getBlockNumber({ cacheTime: 0 })) > first, 'a block every 200-500 ms');
});

test('full latest block: the 0x7e L1-info deposit through the OP Stack formatters', async () => {
  const block = await client.getBlock({ blockTag: 'latest', includeTransactions: true });
  assert.ok(block.transactions.length >= 1);
  const deposit = block.transactions[0];
  assert.equal(deposit.type, 'deposit');
  assert.equal(deposit.typeHex, '0x7e');
  assert.match(deposit.sourceHash, /^0x[0-9a-f]{64}$/);
  assert.equal(deposit.mint, 0n);
  assert.equal(typeof deposit.isSystemTx, 'boolean');
  assert.equal(deposit.from, L1_INFO_DEPOSITOR);
  assert.equal(deposit.to, L1_BLOCK);
  assert.equal(deposit.blockHash, block.hash);
  assert.equal(deposit.transactionIndex, 0);
  // The same transaction by hash and its receipt.
  const byHash = await client.getTransaction({ hash: deposit.hash });
  assert.equal(byHash.type, 'deposit');
  assert.equal(byHash.sourceHash, deposit.sourceHash);
  const receipt = await client.getTransactionReceipt({ hash: deposit.hash });
  assert.equal(receipt.status, 'success');
  assert.equal(receipt.blockNumber, block.number);
  // Without the OP formatters viem still parses the block (the type is just unknown to it).
  const plain = createPublicClient({ transport: http(RPC_URL) });
  const plainBlock = await plain.getBlock({ blockNumber: block.number, includeTransactions: true });
  assert.equal(plainBlock.transactions[0].typeHex, '0x7e');
  assert.equal(plainBlock.transactions[0].type, undefined);
});

test('safe and finalized blocks', async () => {
  const latest = await client.getBlock({ blockTag: 'latest' });
  const safe = await client.getBlock({ blockTag: 'safe' });
  const finalized = await client.getBlock({ blockTag: 'finalized' });
  const earliest = await client.getBlock({ blockTag: 'earliest' });
  assert.equal(earliest.number, 0n);
  for (const [name, block] of [['safe', safe], ['finalized', finalized]]) {
    assert.equal(typeof block.number, 'bigint', `${name} has a number`);
    assert.match(block.hash, /^0x[0-9a-f]{64}$/);
    assert.ok(block.number <= latest.number, `${name} <= latest`);
    const again = await client.getBlock({ blockNumber: block.number });
    assert.equal(again.hash, block.hash, `${name} is the canonical block at its number`);
  }
  assert.ok(finalized.number <= safe.number, 'finalized <= safe');
});

test('EIP-1559 transfer: receipt, balances, L1 data fee', async (t) => {
  const to = privateKeyToAccount(generatePrivateKey()).address;
  const value = parseEther('0.125');
  assert.equal(await client.estimateGas({ account, to, value }), 21_000n);
  const nonce = await client.getTransactionCount({ address: account.address });
  const hash = await wallet.sendTransaction({ to, value });
  const receipt = await waitReceipt(hash);
  assert.equal(receipt.status, 'success');
  assert.equal(receipt.type, 'eip1559');
  assert.equal(receipt.gasUsed, 21_000n);
  assert.equal(receipt.from, account.address.toLowerCase());
  const tx = await client.getTransaction({ hash });
  assert.equal(tx.type, 'eip1559');
  assert.equal(tx.nonce, nonce);
  assert.equal(tx.chainId, 901);
  assert.equal(await client.getBalance({ address: to }), value);
  assert.equal(await client.getTransactionCount({ address: account.address }), nonce + 1);

  // What the sender paid = value + execution gas + the L1 data fee, which goes to the L1 fee
  // vault. Exact when the transfer is alone in its block (deposit + it).
  const n = receipt.blockNumber;
  const block = await client.getBlock({ blockNumber: n });
  const paid = (await client.getBalance({ address: account.address, blockNumber: n - 1n }))
    - (await client.getBalance({ address: account.address, blockNumber: n }));
  const l1Fee = paid - value - receipt.gasUsed * receipt.effectiveGasPrice;
  assert.ok(l1Fee >= 0n, `sender paid ${paid}, less than value + gas`);
  assert.ok(l1Fee < parseEther('0.001'), `L1 data fee ${l1Fee} is tiny in dev mode`);
  if (block.transactions.length === 2) {
    const vault = (await client.getBalance({ address: L1_FEE_VAULT, blockNumber: n }))
      - (await client.getBalance({ address: L1_FEE_VAULT, blockNumber: n - 1n }));
    assert.equal(vault, l1Fee, 'the L1 fee vault received exactly the L1 data fee');
    t.diagnostic(`L1 data fee ${l1Fee} wei, all of it in the L1 fee vault`);
  } else {
    t.diagnostic(`L1 data fee ${l1Fee} wei (block shared with other txs: vault not checked)`);
  }
  // OP receipts report the L1 fee (viem's OP formatter reads `l1Fee`); check it when present.
  if (receipt.l1Fee !== null && receipt.l1Fee !== undefined) assert.equal(receipt.l1Fee, l1Fee);
});

test('legacy transfer', async () => {
  const to = privateKeyToAccount(generatePrivateKey()).address;
  const value = parseGwei('12345');
  const gasPrice = await client.getGasPrice();
  assert.ok(gasPrice > 0n);
  const hash = await wallet.sendTransaction({ to, value, type: 'legacy', gasPrice });
  const receipt = await waitReceipt(hash);
  assert.equal(receipt.status, 'success');
  assert.equal(receipt.type, 'legacy');
  assert.equal(receipt.effectiveGasPrice, gasPrice);
  const tx = await client.getTransaction({ hash });
  assert.equal(tx.type, 'legacy');
  assert.equal(tx.gasPrice, gasPrice);
  assert.equal(tx.chainId, 901, 'EIP-155 replay protection');
  assert.equal(await client.getBalance({ address: to }), value);
});

test('fee market: gas price, priority fee, fee history', async () => {
  const fees = await client.estimateFeesPerGas();
  assert.ok(fees.maxFeePerGas > 0n && fees.maxPriorityFeePerGas >= 0n);
  assert.ok(fees.maxFeePerGas >= fees.maxPriorityFeePerGas);
  const history = await client.getFeeHistory({ blockCount: 4, rewardPercentiles: [25, 75] });
  assert.equal(history.baseFeePerGas.length, 5);
  assert.equal(history.gasUsedRatio.length, 4);
  assert.equal(history.reward.length, 4);
});

test('deploy the Counter, read it, estimate gas', async () => {
  const hash = await wallet.deployContract({ abi, bytecode, args: [5n] });
  const receipt = await waitReceipt(hash);
  assert.equal(receipt.status, 'success');
  assert.match(receipt.contractAddress, /^0x[0-9a-f]{40}$/);
  counter = receipt.contractAddress;
  deployBlock = receipt.blockNumber;
  assert.ok((await client.getCode({ address: counter })).length > 2, 'code stored');
  assert.equal(await client.readContract({ address: counter, abi, functionName: 'count' }), 5n);
  const deployer = await client.readContract({ address: counter, abi, functionName: 'deployer' });
  assert.equal(deployer, account.address);
  const gas = await client.estimateContractGas({ account, address: counter, abi, functionName: 'add', args: [1n] });
  assert.ok(gas > 21_000n && gas < 100_000n, `estimateGas(add) = ${gas}`);
});

test('revert data: custom error decoded from eth_call and eth_estimateGas', async () => {
  for (const run of [
    () => client.simulateContract({ account, address: counter, abi, functionName: 'fail', args: [42n] }),
    () => client.estimateContractGas({ account, address: counter, abi, functionName: 'fail', args: [42n] }),
  ]) {
    await assert.rejects(run, (error) => {
      const reverted = causeOf(error, ContractFunctionRevertedError);
      assert.ok(reverted, `expected ContractFunctionRevertedError, got ${error.name}: ${error.shortMessage}`);
      assert.equal(reverted.data?.errorName, 'Nope');
      assert.deepEqual(reverted.data?.args, [42n]);
      return true;
    });
  }
});

test('events: pushed over WebSocket (eth_subscribe logs, newHeads), polled over HTTP filters', async () => {
  const wsLog = firstPush((push, fail) => wsClient.watchContractEvent({
    address: counter, abi, eventName: 'Incremented', onLogs: (logs) => push(logs[0]), onError: fail,
  }), 10_000, 'log over WebSocket');
  const wsHead = firstPush((push, fail) => wsClient.watchBlocks({ onBlock: push, onError: fail }), 5_000, 'newHeads');
  const httpLog = firstPush((push, fail) => client.watchContractEvent({
    address: counter, abi, eventName: 'Incremented', onLogs: (logs) => push(logs[0]), onError: fail, poll: true,
    pollingInterval: 100,
  }), 10_000, 'log through eth_newFilter / eth_getFilterChanges');
  // Let the subscription and the filter be installed before the transaction lands.
  await new Promise((r) => setTimeout(r, 500));
  const hash = await wallet.writeContract({ address: counter, abi, functionName: 'add', args: [7n] });
  const receipt = await waitReceipt(hash);
  assert.equal(receipt.status, 'success');
  assert.equal(receipt.logs.length, 1);

  const head = await wsHead;
  assert.equal(typeof head.number, 'bigint');
  assert.match(head.hash, /^0x[0-9a-f]{64}$/);
  for (const log of [await wsLog, await httpLog]) {
    assert.equal(log.eventName, 'Incremented');
    assert.equal(log.args.by, account.address);
    assert.equal(log.args.amount, 7n);
    assert.equal(log.args.newCount, 12n);
    assert.equal(log.transactionHash, hash);
    assert.equal(log.blockNumber, receipt.blockNumber);
  }
});

test('getLogs: by address, event, indexed argument, block hash', async () => {
  const hash = await wallet.writeContract({ address: counter, abi, functionName: 'increment' });
  const receipt = await waitReceipt(hash);
  const logs = await client.getContractEvents({ address: counter, abi, eventName: 'Incremented', fromBlock: deployBlock });
  assert.deepEqual(logs.map((l) => l.args.newCount), [12n, 13n]);
  assert.deepEqual(logs.map((l) => l.args.amount), [7n, 1n]);
  const byTopic = await client.getContractEvents({
    address: counter, abi, eventName: 'Incremented', args: { by: account.address }, fromBlock: deployBlock,
  });
  assert.equal(byTopic.length, 2);
  const nobody = await client.getContractEvents({
    address: counter, abi, eventName: 'Incremented', args: { by: L1_BLOCK }, fromBlock: deployBlock,
  });
  assert.equal(nobody.length, 0);
  const inBlock = await client.getLogs({ address: counter, blockHash: receipt.blockHash });
  assert.equal(inBlock.length, 1);
  assert.equal(inBlock[0].transactionHash, hash);
  assert.equal(inBlock[0].logIndex, receipt.logs[0].logIndex);
  assert.equal(await client.readContract({ address: counter, abi, functionName: 'count' }), 13n);
});

test('eth_getProof of the Counter', async () => {
  const proof = await client.getProof({
    address: counter,
    storageKeys: ['0x0000000000000000000000000000000000000000000000000000000000000000'],
  });
  assert.ok(proof.accountProof.length > 0);
  assert.equal(proof.nonce, 1);
  assert.equal(proof.storageProof[0].value, 13n);
  assert.ok(proof.storageProof[0].proof.length > 0);
});

test('rejections map to viem node errors (nonce too low, insufficient funds)', async () => {
  const nonce = await client.getTransactionCount({ address: account.address });
  const fees = await client.estimateFeesPerGas();
  await assert.rejects(
    wallet.sendTransaction({ to: L1_BLOCK, value: 1n, nonce: nonce - 1, gas: 21_000n, ...fees }),
    (error) => Boolean(causeOf(error, NonceTooLowError)) || assert.fail(`got ${error.name}: ${error.shortMessage}`),
  );
  const broke = createWalletClient({
    account: privateKeyToAccount(generatePrivateKey()), chain: parallaxDev, transport: http(RPC_URL),
  });
  await assert.rejects(
    broke.sendTransaction({ to: L1_BLOCK, value: 1n, nonce: 0, gas: 21_000n, ...fees }),
    (error) => Boolean(causeOf(error, InsufficientFundsError)) || assert.fail(`got ${error.name}: ${error.shortMessage}`),
  );
});

// Design §7: state overrides and calls against past state, as viem sends them.
test('eth_call with state overrides', async () => {
  const slot0 = '0x0000000000000000000000000000000000000000000000000000000000000000';
  const overridden = await briefly(() => client.readContract({
    address: counter, abi, functionName: 'count',
    stateOverride: [{ address: counter, stateDiff: [{ slot: slot0, value: `0x${'0'.repeat(62)}63` }] }],
  }));
  assert.equal(overridden, 99n);
});

test('eth_call at a past block', async () => {
  // By now the head is past the deploy block, and the count has moved from 5 to 13.
  assert.ok((await client.getBlockNumber({ cacheTime: 0 })) > deployBlock);
  const past = await briefly(() => client.readContract({ address: counter, abi, functionName: 'count', blockNumber: deployBlock }));
  assert.equal(past, 5n);
});
