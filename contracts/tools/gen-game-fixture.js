#!/usr/bin/env node
// Produces test/fixtures/dispute_block.json for test/DisputeGame.t.sol from a real node: starts
// anvil (Cancun), gives the L2ToL1MessagePasser address (0x4200…0016) code and storage, mines a
// block of 130 transactions (legacy and EIP-1559, so the trie keys include the two-byte rlp(128)
// and rlp(129)), and saves: the parent block's hash and state root, the block's header RLP
// (checked: keccak256 = the block hash), every transaction envelope with its inclusion proof in
// a transactions trie built here (checked: root = the header's transactionsRoot), exclusion
// proofs of indices 130 and 131, and the message passer's account proof from eth_getProof.
//   node tools/gen-game-fixture.js     (after ./build.sh, which installs anvil)
// The fixture is committed; regenerate it only when its shape must change.
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const path = require('path');
// js-sha3 is pinned through package-lock.json (a dependency of solc).
const { keccak256 } = require('js-sha3');

const ROOT = path.resolve(__dirname, '..');
const ANVIL = path.join(ROOT, 'node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil');
const OUT = path.join(ROOT, 'test/fixtures/dispute_block.json');
const PASSER = '0x4200000000000000000000000000000000000016';
const TX_COUNT = 130;

const hex = (buf) => '0x' + Buffer.from(buf).toString('hex');
const bytes = (h) => Buffer.from(h.replace(/^0x/, ''), 'hex');
const keccak = (buf) => Buffer.from(keccak256(buf), 'hex');

// ------------------------------------------------------------------ RLP

// Minimal big-endian bytes of a non-negative integer (0 -> empty).
function intBytes(n) {
  n = BigInt(n);
  if (n === 0n) return Buffer.alloc(0);
  let h = n.toString(16);
  if (h.length % 2) h = '0' + h;
  return Buffer.from(h, 'hex');
}

function lengthPrefix(len, offset) {
  if (len < 56) return Buffer.from([offset + len]);
  const l = intBytes(len);
  return Buffer.concat([Buffer.from([offset + 55 + l.length]), l]);
}

// item: Buffer (string), Array (list), or {raw: Buffer} (already encoded, e.g. an embedded node).
function rlp(item) {
  if (Buffer.isBuffer(item)) {
    if (item.length === 1 && item[0] < 0x80) return item;
    return Buffer.concat([lengthPrefix(item.length, 0x80), item]);
  }
  if (Array.isArray(item)) {
    const payload = Buffer.concat(item.map(rlp));
    return Buffer.concat([lengthPrefix(payload.length, 0xc0), payload]);
  }
  return item.raw;
}

// ------------------------------------------------------------------ Merkle-Patricia trie

const nibbles = (buf) => [...buf].flatMap((b) => [b >> 4, b & 15]);

function hexPrefix(path, leaf) {
  const flag = (leaf ? 2 : 0) + (path.length % 2);
  const all = path.length % 2 ? [flag, ...path] : [flag, 0, ...path];
  const out = Buffer.alloc(all.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = (all[2 * i] << 4) | all[2 * i + 1];
  return out;
}

// Builds the node for entries [{k: nibbles, v: Buffer}] below `depth`: {enc, ref, kind, ...}.
function build(entries, depth) {
  if (entries.length === 1) {
    return node({ kind: 'leaf', path: entries[0].k.slice(depth), value: entries[0].v });
  }
  let cp = 0;
  for (;;) {
    const n = entries[0].k[depth + cp];
    if (n === undefined || !entries.every((e) => e.k[depth + cp] === n)) break;
    cp++;
  }
  if (cp > 0) {
    return node({ kind: 'ext', path: entries[0].k.slice(depth, depth + cp), child: build(entries, depth + cp) });
  }
  const children = [];
  let value = null;
  for (let i = 0; i < 16; i++) {
    const group = entries.filter((e) => e.k[depth] === i);
    children.push(group.length ? build(group, depth + 1) : null);
  }
  const ending = entries.find((e) => e.k.length === depth);
  if (ending) value = ending.v;
  return node({ kind: 'branch', children, value });
}

function childRef(child) {
  if (!child) return Buffer.alloc(0);
  return child.enc.length < 32 ? { raw: child.enc } : keccak(child.enc);
}

function node(n) {
  let items;
  if (n.kind === 'leaf') items = [hexPrefix(n.path, true), n.value];
  else if (n.kind === 'ext') items = [hexPrefix(n.path, false), childRef(n.child)];
  else items = [...n.children.map(childRef), n.value || Buffer.alloc(0)];
  n.enc = rlp(items);
  return n;
}

// The proof for `key`: every node on its path that is referenced by hash (the root included).
function prove(root, key) {
  const k = nibbles(key);
  const proof = [];
  let n = root;
  let depth = 0;
  let embedded = false;
  for (;;) {
    if (!embedded) proof.push(hex(n.enc));
    let next = null;
    if (n.kind === 'branch') {
      if (depth < k.length) next = n.children[k[depth]];
      depth++;
    } else if (n.kind === 'ext') {
      const p = n.path;
      if (p.every((x, i) => k[depth + i] === x)) next = n.child;
      depth += p.length;
    }
    if (!next) return proof;
    embedded = next.enc.length < 32;
    n = next;
  }
}

// ------------------------------------------------------------------ anvil

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

function headerRlp(b) {
  const h = (x) => bytes(x);
  const q = (x) => intBytes(x);
  const fields = [
    h(b.parentHash), h(b.sha3Uncles), h(b.miner), h(b.stateRoot), h(b.transactionsRoot),
    h(b.receiptsRoot), h(b.logsBloom), q(b.difficulty), q(b.number), q(b.gasLimit), q(b.gasUsed),
    q(b.timestamp), h(b.extraData), h(b.mixHash), h(b.nonce), q(b.baseFeePerGas),
    h(b.withdrawalsRoot), q(b.blobGasUsed), q(b.excessBlobGas), h(b.parentBeaconBlockRoot),
  ];
  return rlp(fields);
}

async function main() {
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  const anvil = spawn(ANVIL, ['--hardfork', 'cancun', '--port', String(port), '--silent', '--no-mining'], { stdio: 'inherit' });
  try {
    for (let i = 0; ; i++) {
      try {
        await rpc('eth_chainId');
        break;
      } catch (e) {
        if (i > 100) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const accounts = await rpc('eth_accounts');
    // A message passer with storage, so its storage root is not the empty root.
    await rpc('anvil_setCode', [PASSER, '0x00']);
    await rpc('anvil_setStorageAt', [PASSER, '0x' + '00'.repeat(31) + '07', '0x' + '00'.repeat(31) + '01']);
    await rpc('evm_mine');

    const hashes = [];
    for (let i = 0; i < TX_COUNT; i++) {
      const from = accounts[i % accounts.length];
      const nonce = '0x' + Math.floor(i / accounts.length).toString(16);
      const tx = { from, nonce, to: '0x' + (0x1000 + i).toString(16).padStart(40, '0'), value: '0x' + (i + 1).toString(16), gas: '0x5208' };
      // Some senders send legacy transactions, the others EIP-1559 (one kind per sender).
      if ((i % accounts.length) % 3 === 0) tx.gasPrice = '0x' + (4e9).toString(16);
      hashes.push(await rpc('eth_sendTransaction', [tx]));
    }
    await rpc('evm_mine');
    const block = await rpc('eth_getBlockByNumber', ['latest', false]);
    if (block.transactions.length !== TX_COUNT) throw new Error(`block has ${block.transactions.length} txs; pool ${JSON.stringify(await rpc('txpool_status'))} gas ${block.gasUsed}/${block.gasLimit}`);
    const parent = await rpc('eth_getBlockByNumber', [block.parentHash === undefined ? 'latest' : '0x' + (BigInt(block.number) - 1n).toString(16), false]);
    if (parent.hash !== block.parentHash) throw new Error('parent hash');

    const header = headerRlp(block);
    if (hex(keccak(header)) !== block.hash) throw new Error('header RLP does not hash to the block hash');

    const txs = [];
    for (const h of block.transactions) txs.push(await rpc('eth_getRawTransactionByHash', [h]));
    const entries = txs.map((t, i) => ({ k: nibbles(rlp(intBytes(i))), v: bytes(t) }));
    const root = build(entries, 0);
    if (hex(keccak(root.enc)) !== block.transactionsRoot) throw new Error('transactions root mismatch');
    const txProofs = txs.map((_, i) => prove(root, rlp(intBytes(i))));
    const accountProof = await rpc('eth_getProof', [PASSER, [], block.number]);

    const fixture = {
      comment: 'Generated by tools/gen-game-fixture.js from anvil (Cancun): a block of 130 transactions',
      parentHash: parent.hash,
      parentStateRoot: parent.stateRoot,
      number: Number(BigInt(block.number)),
      blockHash: block.hash,
      headerRlp: hex(header),
      stateRoot: block.stateRoot,
      transactionsRoot: block.transactionsRoot,
      gasUsed: Number(BigInt(block.gasUsed)),
      gasLimit: Number(BigInt(block.gasLimit)),
      timestamp: Number(BigInt(block.timestamp)),
      baseFee: Number(BigInt(block.baseFeePerGas)),
      beneficiary: block.miner,
      mixHash: block.mixHash,
      txCount: TX_COUNT,
      txs,
      txProofs,
      // Exclusion proofs: the first index past the end, and the one after it.
      proofAbsent130: prove(root, rlp(intBytes(130))),
      proofAbsent131: prove(root, rlp(intBytes(131))),
      passerStorageRoot: accountProof.storageHash,
      passerAccountProof: accountProof.accountProof,
    };
    fs.writeFileSync(OUT, JSON.stringify(fixture, null, 1) + '\n');
    console.log(`wrote ${path.relative(ROOT, OUT)}: block ${fixture.number}, ${TX_COUNT} txs, root ${block.transactionsRoot}`);
  } finally {
    anvil.kill();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
