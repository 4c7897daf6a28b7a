"""web3.py against a running Parallax dev sequencer (started by scripts/compat/run.sh).

Environment: PARALLAX_RPC_URL (http://host:port), PARALLAX_WS_URL (ws://host:port, same port),
COMPAT_KEY (a funded dev key), COUNTER_ARTIFACT (forge output of foundry/src/Counter.sol).

The checks run in order (later ones use the contract an earlier one deploys); each prints one
line, and the last line is "web3.py: N passed, N failed". Exit status 1 if any failed.

web3.py has no OP Stack formatters, and needs none here: it parses the type-0x7e L1-info deposit
in full blocks (type 126; its extra fields `sourceHash`, `mint`, `isSystemTx` pass through raw).
"""

import asyncio
import json
import os
import sys
import time
import traceback

from eth_account import Account
from web3 import AsyncWeb3, Web3
from web3.exceptions import ContractCustomError, Web3RPCError
from web3.providers.persistent import WebSocketProvider


def env(name):
    value = os.environ.get(name)
    if not value:
        sys.exit(f"{name} must be set (scripts/compat/run.sh sets it)")
    return value


RPC_URL = env("PARALLAX_RPC_URL")
WS_URL = env("PARALLAX_WS_URL")
KEY = env("COMPAT_KEY")
with open(env("COUNTER_ARTIFACT")) as f:
    ARTIFACT = json.load(f)

CHAIN_ID = 901
L1_INFO_DEPOSITOR = "0xDeaDDEaDDeAdDeAdDEAdDEaddeAddEAdDEAd0001"
L1_BLOCK = "0x4200000000000000000000000000000000000015"

w3 = Web3(Web3.HTTPProvider(RPC_URL, request_kwargs={"timeout": 10}))
acct = w3.eth.account.from_key(KEY)
state = {}
checks = []


def check(fn):
    checks.append(fn)
    return fn


def fees():
    """EIP-1559 fees the way wallets pick them: 2 x base fee + the suggested tip."""
    tip = w3.eth.max_priority_fee
    base = w3.eth.get_block("latest")["baseFeePerGas"]
    return {"maxFeePerGas": 2 * base + tip, "maxPriorityFeePerGas": tip}


def send_signed(tx):
    """Signs `tx` with the dev key, sends it raw and waits for the receipt."""
    signed = acct.sign_transaction(tx)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    assert tx_hash == signed.hash, "eth_sendRawTransaction returned another hash"
    return w3.eth.wait_for_transaction_receipt(tx_hash, timeout=15, poll_latency=0.1)


@check
def connect_and_chain_id():
    assert w3.is_connected()
    assert w3.eth.chain_id == CHAIN_ID
    assert w3.client_version.startswith("parallax/"), w3.client_version
    assert w3.net.version == str(CHAIN_ID)
    assert w3.eth.syncing is False
    first = w3.eth.block_number
    time.sleep(0.8)
    assert w3.eth.block_number > first, "blocks are produced every 200-500 ms"


@check
def full_latest_block_with_deposit():
    block = w3.eth.get_block("latest", full_transactions=True)
    assert len(block["transactions"]) >= 1
    deposit = block["transactions"][0]
    assert deposit["type"] == 0x7E, deposit["type"]
    assert deposit["from"] == L1_INFO_DEPOSITOR
    assert deposit["to"] == L1_BLOCK
    assert deposit["blockHash"] == block["hash"]
    assert deposit["transactionIndex"] == 0
    assert len(Web3.to_bytes(hexstr=deposit["sourceHash"])) == 32
    assert int(deposit["mint"], 16) == 0
    # The hash-only form lists the same transactions.
    hashes = w3.eth.get_block(block["number"])["transactions"]
    assert hashes == [tx["hash"] for tx in block["transactions"]]
    receipt = w3.eth.get_transaction_receipt(deposit["hash"])
    assert receipt["status"] == 1 and receipt["type"] == 0x7E
    for tag in ("safe", "finalized"):
        tagged = w3.eth.get_block(tag)
        assert tagged["number"] <= block["number"], tag
    assert w3.eth.get_block("earliest")["number"] == 0


@check
def eip1559_transfer():
    to = Account.create().address
    value = Web3.to_wei(0.0625, "ether")
    nonce = w3.eth.get_transaction_count(acct.address)
    gas = w3.eth.estimate_gas({"from": acct.address, "to": to, "value": value})
    assert gas == 21_000, gas
    tx = {"type": 2, "chainId": CHAIN_ID, "nonce": nonce, "to": to, "value": value, "gas": gas, **fees()}
    receipt = send_signed(tx)
    assert receipt["status"] == 1
    assert receipt["type"] == 2
    assert receipt["gasUsed"] == 21_000
    assert receipt["from"] == acct.address
    assert w3.eth.get_balance(to) == value
    assert w3.eth.get_transaction_count(acct.address) == nonce + 1
    mined = w3.eth.get_transaction(receipt["transactionHash"])
    assert mined["type"] == 2 and mined["nonce"] == nonce and mined["chainId"] == CHAIN_ID
    # Sender paid value + execution gas + a (tiny, dev mode) L1 data fee.
    n = receipt["blockNumber"]
    paid = w3.eth.get_balance(acct.address, n - 1) - w3.eth.get_balance(acct.address, n)
    l1_fee = paid - value - receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert 0 <= l1_fee < Web3.to_wei(0.001, "ether"), l1_fee


@check
def legacy_transfer():
    to = Account.create().address
    gas_price = w3.eth.gas_price
    assert gas_price > 0
    nonce = w3.eth.get_transaction_count(acct.address)
    receipt = send_signed(
        {"chainId": CHAIN_ID, "nonce": nonce, "to": to, "value": 12345, "gas": 21_000, "gasPrice": gas_price}
    )
    assert receipt["status"] == 1 and receipt["type"] == 0
    assert receipt["effectiveGasPrice"] == gas_price
    assert w3.eth.get_balance(to) == 12345


@check
def deploy_call_transact_events():
    counter_factory = w3.eth.contract(abi=ARTIFACT["abi"], bytecode=ARTIFACT["bytecode"]["object"])
    nonce = w3.eth.get_transaction_count(acct.address)
    tx = counter_factory.constructor(5).build_transaction(
        {"from": acct.address, "nonce": nonce, "chainId": CHAIN_ID, **fees()}
    )
    receipt = send_signed(tx)
    assert receipt["status"] == 1 and receipt["contractAddress"]
    counter = w3.eth.contract(address=receipt["contractAddress"], abi=ARTIFACT["abi"])
    state["counter"], state["deploy_block"] = counter, receipt["blockNumber"]
    assert counter.functions.count().call() == 5
    assert counter.functions.deployer().call() == acct.address

    gas = counter.functions.add(3).estimate_gas({"from": acct.address})
    assert 21_000 < gas < 100_000, gas
    tx = counter.functions.add(3).build_transaction(
        {"from": acct.address, "nonce": nonce + 1, "chainId": CHAIN_ID, **fees()}
    )
    receipt = send_signed(tx)
    assert receipt["status"] == 1
    events = counter.events.Incremented().process_receipt(receipt)
    assert len(events) == 1
    assert events[0]["args"] == {"by": acct.address, "amount": 3, "newCount": 8}, events[0]["args"]
    assert counter.functions.count().call() == 8
    state["add_receipt"] = receipt


@check
def get_logs():
    counter, receipt = state["counter"], state["add_receipt"]
    # Raw eth_getLogs by address and topic0 + indexed `by`.
    topic0 = Web3.keccak(text="Incremented(address,uint256,uint256)")
    by_topic = "0x" + "00" * 12 + acct.address[2:].lower()
    logs = w3.eth.get_logs(
        {"fromBlock": state["deploy_block"], "toBlock": "latest", "address": counter.address,
         "topics": [topic0, by_topic]}
    )
    assert len(logs) == 1, logs
    assert logs[0]["transactionHash"] == receipt["transactionHash"]
    assert logs[0]["blockNumber"] == receipt["blockNumber"]
    assert logs[0]["topics"][0] == topic0
    # By block hash, and through the contract's event API.
    assert len(w3.eth.get_logs({"blockHash": receipt["blockHash"], "address": counter.address})) == 1
    decoded = counter.events.Incremented().get_logs(from_block=state["deploy_block"])
    assert [e["args"]["newCount"] for e in decoded] == [8]
    other = w3.eth.get_logs(
        {"fromBlock": state["deploy_block"], "address": counter.address,
         "topics": [topic0, "0x" + "00" * 12 + L1_BLOCK[2:].lower()]}
    )
    assert other == []


@check
def revert_and_rejections():
    counter = state["counter"]
    try:
        counter.functions.fail(42).call()
        raise AssertionError("fail(42) did not revert")
    except ContractCustomError as error:
        selector = Web3.keccak(text="Nope(uint256)")[:4].hex()
        assert selector in str(error.data), error.data
    nonce = w3.eth.get_transaction_count(acct.address)
    stale = acct.sign_transaction(
        {"type": 2, "chainId": CHAIN_ID, "nonce": nonce - 1, "to": L1_BLOCK, "value": 1, "gas": 21_000, **fees()}
    )
    try:
        w3.eth.send_raw_transaction(stale.raw_transaction)
        raise AssertionError("a stale nonce was accepted")
    except Web3RPCError as error:
        assert "nonce too low" in str(error), error


@check
def fee_market_and_proof():
    assert w3.eth.gas_price > 0
    assert w3.eth.max_priority_fee >= 0
    history = w3.eth.fee_history(4, "latest", [25, 75])
    assert len(history["baseFeePerGas"]) == 5 and len(history["reward"]) == 4
    proof = w3.eth.get_proof(state["counter"].address, [0])
    assert proof["nonce"] == 1
    # web3.py returns the storage value as HexBytes.
    assert Web3.to_int(proof["storageProof"][0]["value"]) == 8
    assert len(proof["accountProof"]) > 0


@check
def websocket_new_heads():
    async def first_head():
        async with AsyncWeb3(WebSocketProvider(WS_URL)) as aw3:
            assert await aw3.eth.chain_id == CHAIN_ID
            await aw3.eth.subscribe("newHeads")
            async for message in aw3.socket.process_subscriptions():
                return message["result"]

    head = asyncio.run(asyncio.wait_for(first_head(), timeout=10))
    assert head["number"] > 0 and len(head["hash"]) == 32, head


def main():
    passed = failed = 0
    for fn in checks:
        start = time.monotonic()
        try:
            fn()
        except Exception:
            failed += 1
            print(f"FAIL {fn.__name__}", flush=True)
            traceback.print_exc()
        else:
            passed += 1
            print(f"ok   {fn.__name__} ({time.monotonic() - start:.2f}s)", flush=True)
    print(f"web3.py: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
