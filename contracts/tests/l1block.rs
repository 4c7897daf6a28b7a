//! Cross-implementation test of the L1-info deposit: the calldata built by the Rust encoder
//! (`parallax_protocol::l1_info::L1Info::encode`) is decoded by the compiled `L1Block` predeploy
//! running in revm, and every getter (called through the `sol!` binding's ABI encoding) returns
//! exactly the Rust value. Also checks who may write, the exact length, and the documented
//! packing of slot 0 the node may read directly.

mod common;

use alloy::{
    primitives::{hex, Address, Bytes, B256, U256},
    sol_types::{SolCall, SolError},
};
use common::Chain;
use parallax_contracts::L1Block;
use parallax_executor::revm::context::result::ExecutionResult;
use parallax_protocol::{
    l1_info::{L1Info, L1_INFO_GAS_LIMIT, L1_INFO_LEN, L1_INFO_SELECTOR},
    predeploys::{L1_BLOCK, L1_INFO_DEPOSITOR},
    Eip1559Params, L1FeeScalars,
};
use proptest::prelude::*;

/// The same vector as `VECTOR` in `contracts/test/L1Block.t.sol`: every field's bytes differ,
/// so a field at a wrong offset or width on either side cannot pass.
const VECTOR: [u8; L1_INFO_LEN] = hex!(
    "c058103c"
    "0102030405060708"
    "1112131415161718"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "8182838485868788"
    "000000000000000000000000a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3"
    "c1c2c3c4"
    "d1d2d3d4"
    "e1e2e3e4e5e6e7e8"
    "f1f2f3f4"
    "b5b6b7b8"
    "9192939495969798"
);

fn vector_info() -> L1Info {
    let word = |first: u8| B256::from(std::array::from_fn::<u8, 32, _>(|i| first + i as u8));
    L1Info {
        number: 0x0102030405060708,
        timestamp: 0x1112131415161718,
        base_fee: word(0x20).into(),
        blob_base_fee: word(0x40).into(),
        hash: word(0x60),
        sequence_number: 0x8182838485868788,
        batcher_hash: Address::from(std::array::from_fn::<u8, 20, _>(|i| 0xa0 + i as u8))
            .into_word(),
        scalars: L1FeeScalars {
            base_fee_scalar: 0xc1c2c3c4,
            blob_base_fee_scalar: 0xd1d2d3d4,
        },
        gas_limit: 0xe1e2e3e4e5e6e7e8,
        eip1559: Eip1559Params {
            elasticity: 0xf1f2f3f4,
            denominator: 0xb5b6b7b8,
        },
        min_base_fee: 0x9192939495969798,
    }
}

fn chain() -> Chain {
    let mut chain = Chain::default();
    chain.install(L1_BLOCK, &L1Block::DEPLOYED_BYTECODE);
    chain
}

/// Sends `data` to `L1Block` from `from` with the L1-info deposit's gas limit.
fn send(chain: &mut Chain, from: Address, data: impl Into<Bytes>) -> ExecutionResult {
    chain.call(from, L1_BLOCK, data.into(), L1_INFO_GAS_LIMIT)
}

fn get<C: SolCall>(chain: &mut Chain, call: C) -> C::Return {
    C::abi_decode_returns(&chain.view(L1_BLOCK, call.abi_encode())).expect("getter output decodes")
}

/// Everything `L1Block` stores, read through its public getters.
fn stored(chain: &mut Chain) -> L1Info {
    L1Info {
        number: get(chain, L1Block::numberCall {}),
        timestamp: get(chain, L1Block::timestampCall {}),
        base_fee: get(chain, L1Block::basefeeCall {}),
        blob_base_fee: get(chain, L1Block::blobBaseFeeCall {}),
        hash: get(chain, L1Block::hashCall {}),
        sequence_number: get(chain, L1Block::sequenceNumberCall {}),
        batcher_hash: get(chain, L1Block::batcherHashCall {}),
        scalars: L1FeeScalars {
            base_fee_scalar: get(chain, L1Block::baseFeeScalarCall {}),
            blob_base_fee_scalar: get(chain, L1Block::blobBaseFeeScalarCall {}),
        },
        gas_limit: get(chain, L1Block::gasLimitCall {}),
        eip1559: Eip1559Params {
            elasticity: get(chain, L1Block::eip1559ElasticityCall {}).into(),
            denominator: get(chain, L1Block::eip1559DenominatorCall {}).into(),
        },
        min_base_fee: get(chain, L1Block::minBaseFeeCall {}),
    }
}

/// Writes `info` as the L1-info deposit would, and checks the getters and the packed slot 0.
fn write_and_check(chain: &mut Chain, info: &L1Info) {
    let result = send(chain, L1_INFO_DEPOSITOR, info.encode());
    assert!(result.is_success(), "setL1BlockValues failed: {result:?}");
    assert_eq!(stored(chain), *info);
    // Slot 0: number (bytes 0-7) | timestamp (8-15) | sequenceNumber (16-23), from the low end.
    let slot0 = U256::from(info.number)
        | (U256::from(info.timestamp) << 64)
        | (U256::from(info.sequence_number) << 128);
    assert_eq!(chain.storage(L1_BLOCK, U256::ZERO), slot0, "slot 0 packing");
    assert_eq!(chain.storage(L1_BLOCK, U256::from(1)), info.base_fee);
    assert_eq!(
        chain.storage(L1_BLOCK, U256::from(4)),
        U256::from_be_bytes(info.batcher_hash.0)
    );
    // Slot 5: baseFeeScalar (bytes 0-3) | blobBaseFeeScalar (4-7): the one-step verifier reads
    // them; gasLimit (8-15) | eip1559Elasticity (16-19) | eip1559Denominator (20-23) |
    // minBaseFee (24-31): the dispute game's header check reads them.
    let slot5 = U256::from(info.scalars.base_fee_scalar)
        | (U256::from(info.scalars.blob_base_fee_scalar) << 32)
        | (U256::from(info.gas_limit) << 64)
        | (U256::from(info.eip1559.elasticity) << 128)
        | (U256::from(info.eip1559.denominator) << 160)
        | (U256::from(info.min_base_fee) << 192);
    assert_eq!(
        chain.storage(L1_BLOCK, U256::from(5)),
        slot5,
        "slot 5 packing"
    );
}

fn revert_data(result: ExecutionResult) -> Bytes {
    match result {
        ExecutionResult::Revert { output, .. } => output,
        other => panic!("expected a revert, got {other:?}"),
    }
}

#[test]
fn rust_encoder_matches_the_solidity_vector() {
    let info = vector_info();
    assert_eq!(info.encode()[..], VECTOR[..]);
    assert_eq!(L1_INFO_SELECTOR, L1Block::setL1BlockValuesV3Call::SELECTOR);
    let mut chain = chain();
    write_and_check(&mut chain, &info);
    assert_eq!(
        get(&mut chain, L1Block::DEPOSITORCall {}),
        L1_INFO_DEPOSITOR
    );
    assert_eq!(
        get(&mut chain, L1Block::CALLDATA_LENGTHCall {}),
        U256::from(L1_INFO_LEN)
    );
}

#[test]
fn edge_values_round_trip_and_overwrite() {
    let max = L1Info {
        number: u64::MAX,
        timestamp: u64::MAX,
        base_fee: U256::MAX,
        blob_base_fee: U256::MAX,
        hash: B256::repeat_byte(0xff),
        sequence_number: u64::MAX,
        batcher_hash: B256::repeat_byte(0xff),
        scalars: L1FeeScalars {
            base_fee_scalar: u32::MAX,
            blob_base_fee_scalar: u32::MAX,
        },
        gas_limit: u64::MAX,
        eip1559: Eip1559Params {
            elasticity: u32::MAX.into(),
            denominator: u32::MAX.into(),
        },
        min_base_fee: u64::MAX,
    };
    let mut chain = chain();
    // All ones, then all zeros (no stale bits may survive in the packed slot), then the vector.
    for info in [max, L1Info::default(), vector_info(), max] {
        write_and_check(&mut chain, &info);
    }
}

#[test]
fn fits_the_deposit_gas_limit() {
    let mut chain = chain();
    // The first write of a chain fills five fresh slots: the most expensive case.
    let result = send(&mut chain, L1_INFO_DEPOSITOR, vector_info().encode());
    assert!(result.is_success());
    let used = result.tx_gas_used();
    assert!(
        used < L1_INFO_GAS_LIMIT / 5,
        "setL1BlockValues used {used} gas"
    );
}

#[test]
fn only_the_depositor_writes_and_only_188_bytes() {
    let mut chain = chain();
    let before = vector_info();
    write_and_check(&mut chain, &before);
    let other = L1Info {
        number: 7,
        ..L1Info::default()
    };

    let mut next_to_depositor = L1_INFO_DEPOSITOR;
    next_to_depositor.0[19] ^= 3;
    for sender in [Address::ZERO, Address::repeat_byte(0x42), next_to_depositor] {
        let output = revert_data(send(&mut chain, sender, other.encode()));
        let error = L1Block::NotDepositor::abi_decode(&output).expect("NotDepositor");
        assert_eq!(error.sender, sender);
    }

    let data = other.encode();
    let mut long = data.to_vec();
    long.push(0);
    let selector_only = L1Block::setL1BlockValuesV3Call {}.abi_encode();
    for wrong in [&data[..L1_INFO_LEN - 1], &long[..], &selector_only[..]] {
        let output = revert_data(send(&mut chain, L1_INFO_DEPOSITOR, wrong.to_vec()));
        let error =
            L1Block::InvalidCalldataLength::abi_decode(&output).expect("InvalidCalldataLength");
        assert_eq!(error.length, U256::from(wrong.len()));
    }

    // Right length, another selector: no function matches (and there is no fallback).
    let mut unknown = data.to_vec();
    unknown[0] ^= 1;
    assert!(revert_data(send(&mut chain, L1_INFO_DEPOSITOR, unknown)).is_empty());

    assert_eq!(
        stored(&mut chain),
        before,
        "no rejected call changed anything"
    );
}

/// A u64 that is an edge value half of the time.
fn u64_value() -> impl Strategy<Value = u64> {
    prop_oneof![Just(0), Just(1), Just(u64::MAX), any::<u64>()]
}

/// A 32-byte word that is an edge value half of the time.
fn word() -> impl Strategy<Value = B256> {
    prop_oneof![
        Just(B256::ZERO),
        Just(B256::repeat_byte(0xff)),
        any::<[u8; 32]>().prop_map(B256::from),
        any::<u64>().prop_map(|n| U256::from(n).into()),
    ]
}

fn l1_info() -> impl Strategy<Value = L1Info> {
    let batcher = prop_oneof![
        word(),
        any::<[u8; 20]>().prop_map(|a| Address::from(a).into_word())
    ];
    (
        u64_value(),
        u64_value(),
        word(),
        word(),
        word(),
        u64_value(),
        batcher,
        any::<(u32, u32)>(),
        (u64_value(), any::<(u32, u32)>(), u64_value()),
    )
        .prop_map(
            |(
                number,
                timestamp,
                base_fee,
                blob_base_fee,
                hash,
                sequence_number,
                batcher_hash,
                (base_fee_scalar, blob_base_fee_scalar),
                (gas_limit, (elasticity, denominator), min_base_fee),
            )| {
                L1Info {
                    number,
                    timestamp,
                    base_fee: base_fee.into(),
                    blob_base_fee: blob_base_fee.into(),
                    hash,
                    sequence_number,
                    batcher_hash,
                    scalars: L1FeeScalars {
                        base_fee_scalar,
                        blob_base_fee_scalar,
                    },
                    gas_limit,
                    eip1559: Eip1559Params {
                        elasticity: elasticity.into(),
                        denominator: denominator.into(),
                    },
                    min_base_fee,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any values the Rust side encodes are what the contract stores and returns, also when
    /// they overwrite earlier values.
    #[test]
    fn solidity_decodes_what_rust_encodes(first in l1_info(), second in l1_info()) {
        let mut chain = chain();
        write_and_check(&mut chain, &first);
        write_and_check(&mut chain, &second);
    }
}
