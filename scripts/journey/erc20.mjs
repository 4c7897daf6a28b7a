// The viem part of the user journey: deploy an ERC-20 on Parallax L2, transfer tokens, and check
// the receipts, the Transfer events and the balances. run.sh runs it; by hand (README, "The user
// journey"):
//
//   L2_RPC=http://127.0.0.1:9545 KEY=0x... TO=0x... node erc20.mjs
//
// Environment: L2_RPC (the sequencer's JSON-RPC), KEY (a funded L2 account's private key), TO
// (who receives tokens), TOKEN_ARTIFACT (forge output of src/JourneyToken.sol; default
// out/JourneyToken.sol/JourneyToken.json next to this file). Prints one line per check and the
// token's address last (`token <address>`); the first failed check throws (exit status 1).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createPublicClient,
  createWalletClient,
  defineChain,
  getAddress,
  http,
  parseEventLogs,
  parseUnits,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { chainConfig } from 'viem/op-stack';

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (!value) throw new Error(`set ${name} (see the comment at the top of ${fileURLToPath(import.meta.url)})`);
  return value;
};
const rpc = env('L2_RPC');
const account = privateKeyToAccount(env('KEY'));
const recipient = getAddress(env('TO'));
const here = dirname(fileURLToPath(import.meta.url));
const artifact = JSON.parse(
  readFileSync(env('TOKEN_ARTIFACT', join(here, 'out/JourneyToken.sol/JourneyToken.json')), 'utf8'),
);
const { abi } = artifact;
const bytecode = artifact.bytecode.object;

// Parallax blocks start with an L1-info deposit (type 0x7e): the OP Stack formatters read it.
const bootstrap = createPublicClient({ transport: http(rpc) });
const chain = defineChain({
  ...chainConfig,
  id: await bootstrap.getChainId(),
  name: 'Parallax',
  nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
  rpcUrls: { default: { http: [rpc] } },
});
const client = createPublicClient({ chain, transport: http(rpc), pollingInterval: 250 });
const wallet = createWalletClient({ account, chain, transport: http(rpc), pollingInterval: 250 });
const receiptOf = (hash) => client.waitForTransactionReceipt({ hash, timeout: 60_000 });
const ok = (line) => console.log(`ok   ${line}`);

// Deploy: the whole supply goes to the deployer, announced by a mint Transfer event.
const supply = parseUnits('1000000', 18);
const deployHash = await wallet.deployContract({ abi, bytecode, args: ['Journey Token', 'JRN', supply] });
const deployed = await receiptOf(deployHash);
assert.equal(deployed.status, 'success', `deployment ${deployHash} reverted`);
const token = deployed.contractAddress;
assert.ok(token, 'no contract address in the deployment receipt');
assert.notEqual(await client.getCode({ address: token }), undefined, `no code at ${token}`);
const [mint] = parseEventLogs({ abi, logs: deployed.logs, eventName: 'Transfer' });
assert.equal(mint.args.from, '0x0000000000000000000000000000000000000000');
assert.equal(mint.args.to, account.address);
assert.equal(mint.args.value, supply);
const read = (functionName, args = []) => client.readContract({ address: token, abi, functionName, args });
assert.equal(await read('symbol'), 'JRN');
assert.equal(await read('totalSupply'), supply);
assert.equal(await read('balanceOf', [account.address]), supply);
ok(`deployed JourneyToken (JRN) at ${token} in L2 block ${deployed.blockNumber}, gas ${deployed.gasUsed}; mint event and supply read back`);

// Transfer: simulate first (what a wallet shows), then send, then check receipt, event, balances.
const amount = parseUnits('1234.5', 18);
const before = await read('balanceOf', [recipient]);
const { request, result } = await client.simulateContract({
  account,
  address: token,
  abi,
  functionName: 'transfer',
  args: [recipient, amount],
});
assert.equal(result, true, 'simulated transfer() did not return true');
const transferHash = await wallet.writeContract(request);
const transferred = await receiptOf(transferHash);
assert.equal(transferred.status, 'success', `transfer ${transferHash} reverted`);
const events = parseEventLogs({ abi, logs: transferred.logs, eventName: 'Transfer' });
assert.equal(events.length, 1, `${events.length} Transfer events`);
assert.deepEqual(
  { from: events[0].args.from, to: events[0].args.to, value: events[0].args.value },
  { from: account.address, to: recipient, value: amount },
);
assert.equal(await read('balanceOf', [recipient]), before + amount);
assert.equal(await read('balanceOf', [account.address]), supply - amount);
ok(`transferred 1234.5 JRN to ${recipient} in L2 block ${transferred.blockNumber}: receipt, Transfer event and both balances agree`);

// The event is also found by a log query (what indexers and wallets do).
const logs = await client.getContractEvents({
  address: token,
  abi,
  eventName: 'Transfer',
  args: { to: recipient },
  fromBlock: deployed.blockNumber,
  toBlock: transferred.blockNumber,
});
assert.equal(logs.length, 1, `${logs.length} Transfer logs to ${recipient}`);
assert.equal(logs[0].transactionHash, transferHash);
ok('eth_getLogs finds the Transfer by its indexed recipient');

// A transfer of more than the balance reverts with the contract's error, before anything is sent.
await assert.rejects(
  client.simulateContract({ account: recipient, address: token, abi, functionName: 'transfer', args: [account.address, amount + 1n] }),
  (error) => error.walk((e) => e.data?.errorName === 'InsufficientBalance') !== null,
);
ok('an overdraft is refused with InsufficientBalance(available, needed)');
console.log(`token ${token}`);
