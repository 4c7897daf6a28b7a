#!/usr/bin/env node
// Produces the Merkle-Patricia proof fixtures in test/fixtures/ from a real node: starts anvil,
// deploys test/utils/StorageFixture.sol and src/L2/L2ToL1MessagePasser.sol (bytecode from forge's
// out/, so run ./build.sh first), writes storage, and saves `eth_getProof` answers.
//   node tools/gen-fixtures.js      (tools/gen-fixtures.sh wraps it)
// The fixtures are committed; regenerate them only when their shape must change.
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const path = require('path');
// js-sha3 is pinned through package-lock.json (a dependency of solc).
const { keccak256 } = require('js-sha3');

const ROOT = path.resolve(__dirname, '..');
const ANVIL = path.join(ROOT, 'node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil');
const FIXTURES = path.join(ROOT, 'test/fixtures');

const hex = (buf) => '0x' + Buffer.from(buf).toString('hex');
const pad32 = (h) => '0x' + h.replace(/^0x/, '').padStart(64, '0');
const keccakHex = (h) => '0x' + keccak256(Buffer.from(h.replace(/^0x/, ''), 'hex'));
const word = (n) => pad32(BigInt(n).toString(16));

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

let url;
let nextId = 1;
async function rpc(method, params = []) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, params }),
  });
  const body = await res.json();
  if (body.error) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
  return body.result;
}

async function waitForNode() {
  for (let i = 0; i < 100; i++) {
    try {
      await rpc('eth_chainId');
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('anvil did not start');
}

async function send(from, tx) {
  const hash = await rpc('eth_sendTransaction', [{ from, gas: '0x1c9c380', ...tx }]);
  let receipt = null;
  for (let i = 0; i < 100 && !receipt; i++) {
    receipt = await rpc('eth_getTransactionReceipt', [hash]);
    if (!receipt) await new Promise((r) => setTimeout(r, 50));
  }
  if (!receipt || receipt.status !== '0x1') throw new Error(`tx failed: ${JSON.stringify(receipt)}`);
  return receipt;
}

function bytecode(file, name) {
  const artifact = JSON.parse(fs.readFileSync(path.join(ROOT, 'out', file, `${name}.json`), 'utf8'));
  return artifact.bytecode.object;
}

// ABI encoding of the few calls used here (static words, plus dynamic arrays/bytes).
function encodeWords(...words) {
  return words.map((w) => w.replace(/^0x/, '')).join('');
}
function selector(sig) {
  return keccak256(sig).slice(0, 8);
}
function encodeBytes(dataHex) {
  const data = dataHex.replace(/^0x/, '');
  const len = data.length / 2;
  const padded = data.padEnd(Math.ceil(len / 32) * 64, '0');
  return encodeWords(word(len)) + padded;
}

// Two slots whose hashed keys share their first four nibbles, so the storage trie contains an
// extension node (rare among few random keys otherwise).
function slotsSharingPrefix() {
  const target = keccakHex(word(1000)).slice(2, 6);
  for (let i = 1001; ; i++) {
    if (keccakHex(word(i)).slice(2, 6) === target) return [word(1000), word(i)];
  }
}

// Minimal RLP list decoding, enough to tell a leaf (2 items, hex-prefix flag >= 2) from other nodes.
function rlpItems(buf) {
  const header = (i) => {
    const p = buf[i];
    if (p < 0x80) return [i, 1, false];
    if (p < 0xb8) return [i + 1, p - 0x80, false];
    if (p < 0xc0) { const ll = p - 0xb7; return [i + 1 + ll, buf.readUIntBE(i + 1, ll), false]; }
    if (p < 0xf8) return [i + 1, p - 0xc0, true];
    const ll = p - 0xf7;
    return [i + 1 + ll, buf.readUIntBE(i + 1, ll), true];
  };
  const [start, len] = header(0);
  const items = [];
  for (let i = start; i < start + len;) {
    const [s, l] = header(i);
    items.push(buf.subarray(s, s + l));
    i = s + l;
  }
  return items;
}
function lastNodeIsLeaf(proof) {
  const items = rlpItems(Buffer.from(proof[proof.length - 1].slice(2), 'hex'));
  return items.length === 2 && items[0][0] >> 4 >= 2;
}

function normalizeProof(p) {
  return { accountProof: p.accountProof, storageHash: p.storageHash, codeHash: p.codeHash,
    nonce: p.nonce, balance: p.balance, storageProof: p.storageProof.map((s) => ({
      key: pad32(s.key), value: pad32(s.value), proof: s.proof })) };
}

async function main() {
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  const anvil = spawn(ANVIL, ['--hardfork', 'cancun', '--port', String(port), '--silent'], { stdio: 'ignore' });
  try {
    await waitForNode();
    const [from] = await rpc('eth_accounts');

    // ---- storage fixture: 40 sequential slots, a shared-prefix pair, 5 mapping entries.
    const storage = (await send(from, { data: bytecode('StorageFixture.sol', 'StorageFixture') })).contractAddress;
    await send(from, { to: storage, data: '0x' + selector('fill(uint256)') + encodeWords(word(40)) });
    const [p1, p2] = slotsSharingPrefix();
    const setSlots = '0x' + selector('setSlots(bytes32[],uint256[])') + encodeWords(word(64), word(64 + 32 * 3),
      word(2), p1, p2, word(2), word(0xabcdef), pad32('ff'.repeat(32)));
    await send(from, { to: storage, data: setSlots });
    for (let k = 0; k < 5; k++) {
      await send(from, { to: storage, data: '0x' + selector('setMapping(bytes32,uint256)') + encodeWords(word(k + 7), word(k * 1000 + 1)) });
    }
    const present = [word(0), word(1), word(2), word(17), word(39), p1, p2,
      keccakHex(encodeWords(word(7), word(100))), keccakHex(encodeWords(word(11), word(100)))];
    const absent = [word(40), word(41), word(999), word(1001), pad32('deadbeef'), keccakHex(encodeWords(word(12), word(100)))];
    // Absent slots whose proofs end at a leaf with a different path (found by trying candidates).
    const candidates = Array.from({ length: 300 }, (_, i) => word(5000 + i));
    const probe = await rpc('eth_getProof', [storage, candidates, 'latest']);
    const endsAtLeaf = probe.storageProof.filter((s) => lastNodeIsLeaf(s.proof)).slice(0, 2).map((s) => pad32(s.key));
    absent.push(...endsAtLeaf);
    const block = await rpc('eth_getBlockByNumber', ['latest', false]);
    const proof = normalizeProof(await rpc('eth_getProof', [storage, [...present, ...absent], block.number]));
    const absentAccount = '0x000000000000000000000000000000000000dead';
    const absentProof = await rpc('eth_getProof', [absentAccount, [], block.number]);
    const fixture = {
      comment: 'eth_getProof answers from anvil (cancun); generated by tools/gen-fixtures.js',
      stateRoot: block.stateRoot, blockNumber: block.number, address: storage,
      nonce: proof.nonce, balance: proof.balance, storageRoot: proof.storageHash, codeHash: proof.codeHash,
      accountProof: proof.accountProof,
      presentCount: present.length, absentCount: absent.length,
      present: proof.storageProof.slice(0, present.length),
      absent: proof.storageProof.slice(present.length),
      absentAccount: { address: absentAccount, proof: absentProof.accountProof },
    };
    fs.writeFileSync(path.join(FIXTURES, 'storage_proofs.json'), JSON.stringify(fixture, null, 1) + '\n');

    // ---- message passer: three withdrawals; prove the second one.
    const passer = (await send(from, { data: bytecode('L2ToL1MessagePasser.sol', 'L2ToL1MessagePasser') })).contractAddress;
    const target = '0x00000000000000000000000000000000000beef0';
    const withdrawals = [
      { value: '0x0', gasLimit: 50000, data: '0x' },
      { value: '0xde0b6b3a7640000', gasLimit: 100000, data: '0xc0ffee0102' },
      { value: '0x1', gasLimit: 21000, data: '0x' + 'ab'.repeat(40) },
    ];
    const hashes = [];
    for (const w of withdrawals) {
      const call = '0x' + selector('initiateWithdrawal(address,uint256,bytes)')
        + encodeWords(pad32(target), word(w.gasLimit), word(96)) + encodeBytes(w.data);
      const receipt = await send(from, { to: passer, value: w.value, data: call });
      // MessagePassed data: value, gasLimit, offset of data, withdrawalHash, then the bytes.
      const data = receipt.logs[0].data.replace(/^0x/, '');
      hashes.push('0x' + data.slice(3 * 64, 4 * 64));
    }
    const chosen = 1;
    const slot = keccakHex(encodeWords(hashes[chosen], word(0)));
    const wBlock = await rpc('eth_getBlockByNumber', ['latest', false]);
    const wProof = await rpc('eth_getProof', [passer, [slot], wBlock.number]);
    const w = withdrawals[chosen];
    const withdrawalFixture = {
      comment: 'sentMessages[withdrawalHash] storage proof of L2ToL1MessagePasser on anvil; generated by tools/gen-fixtures.js',
      stateRoot: wBlock.stateRoot, blockHash: wBlock.hash, blockNumber: wBlock.number,
      messagePasser: passer, accountProof: wProof.accountProof, storageRoot: wProof.storageHash,
      withdrawal: { nonce: word(chosen), sender: from, target,
        value: pad32(w.value), gasLimit: word(w.gasLimit), data: w.data },
      withdrawalHash: hashes[chosen], slot, storageValue: pad32(wProof.storageProof[0].value),
      storageProof: wProof.storageProof[0].proof,
    };
    fs.writeFileSync(path.join(FIXTURES, 'withdrawal_proof.json'), JSON.stringify(withdrawalFixture, null, 1) + '\n');
    console.log(`fixtures written: storage root ${proof.storageHash}, withdrawal ${hashes[chosen]}`);
  } finally {
    anvil.kill('SIGTERM');
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
