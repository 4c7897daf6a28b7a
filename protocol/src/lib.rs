//! Parallax protocol rules shared by every service: the rollup configuration, the L2 fee rules,
//! output roots, deposits, the batch / channel / frame codec and derivation ([`derive`](mod@derive)). Pure
//! functions and types: no I/O, no async, no clock.
//!
//! # Byte formats
//!
//! Integers are big-endian unless RLP-encoded; `‖` is concatenation. Every decoder of data that
//! comes from L1 or a DA layer is strict (one encoding per value, nothing left over) and returns
//! an error, never panics, on any input.
//!
//! ## Deposit transaction ([`deposit`])
//! `0x7E ‖ rlp([source_hash: bytes32, from: address, to: address | "" (creation), mint: uint,
//! value: uint, gas_limit: uint, is_system: bool, data: bytes])`; transaction hash =
//! `keccak256` of the whole encoding. Source hashes:
//! - user deposit: `keccak256(uint256(0) ‖ keccak256(l1_block_hash ‖ uint256(log_index)))`;
//! - L1-info deposit: `keccak256(uint256(1) ‖ keccak256(l1_block_hash ‖ uint256(sequence_number)))`.
//!
//! A user deposit comes from the Portal's `TransactionDeposited(address indexed from, address
//! indexed to, uint256 indexed version, bytes opaqueData)` (topic 0
//! [`deposit::TRANSACTION_DEPOSITED_TOPIC`], version 0), log data = ABI encoding of
//! `opaqueData = mint:32 ‖ value:32 ‖ gasLimit:8 ‖ isCreation:1 ‖ data` (offsets 0/32/64/72/73).
//!
//! ## L1-info deposit calldata ([`l1_info`])
//! 156 bytes: `0x2736154f` (`setL1BlockValues()`) ‖ number:8 ‖ timestamp:8 ‖ base_fee:32 ‖
//! blob_base_fee:32 ‖ l1_hash:32 ‖ sequence_number:8 ‖ batcher_hash:32 (offsets 4, 12, 20, 52,
//! 84, 116, 124). Sent from `0xdead…0001` to `L1Block` (`0x42…15`), gas 1,000,000, `is_system`.
//!
//! ## Batch ([`batch`])
//! `0x00 ‖ rlp([parent_hash, l1_origin_number, l1_origin_hash, timestamp_ms, [tx…]])`, one per
//! L2 block, each `tx` an RLP byte string holding an EIP-2718 encoding (never a deposit).
//!
//! ## Channel ([`channel`])
//! `compression:u8 ‖ stream`, compression `0x01` = zstd, `0x02` = brotli; the decompressed stream
//! is `rlp_bytes(batch_0) ‖ rlp_bytes(batch_1) ‖ …`. At most `max_channel_decompressed_size`
//! bytes decompressed (default 10 MB); anything malformed rejects the whole channel.
//!
//! ## Frame ([`frame`])
//! `channel_id:16 ‖ frame_number:2 ‖ len:4 ‖ data[len] ‖ is_last:1` (`is_last` ∈ {0, 1}).
//!
//! ## Batch-inbox payloads ([`frame`])
//! - `0x00 ‖ frame+`: calldata of a batcher transaction, the data of one blob, or the content of
//!   a Celestia blob. Any malformed frame drops the whole payload.
//! - `0x01 ‖ height:8 ‖ commitment:32` (calldata only): a Celestia blob holding a `0x00` payload.
//!
//! Calldata payloads are at most 120,000 bytes ([`frame::MAX_CALLDATA_PAYLOAD`]).
//!
//! ## Blob packing ([`blob`])
//! 4096 field elements × 32 bytes; byte 0 of each element is `0x00`, bytes 1..32 carry data
//! (126,976 usable bytes, read element by element). Usable bytes: `0x00 ‖ len:4 ‖ data[len] ‖
//! zeros` (at most 126,971 data bytes); a non-zero high byte, unknown version, oversized length
//! or non-zero padding is rejected.
//!
//! # Chain rules derivation enforces
//! See [`derive`](mod@derive) for the pipeline and [`derive::BatchQueue`] for the batch rules. L2 block `n`
//! has time `genesis.l2_timestamp·1000 + (n − genesis.l2.number)·block_time_ms` milliseconds
//! ([`RollupConfig::l2_timestamp_ms`]); its header carries whole seconds. Its transactions are
//! the L1-info deposit, then (first block of an epoch only) the origin's user deposits in log
//! order, then the batch's transactions. Coinbase is the sequencer fee vault, `prevRandao` the
//! L1 origin's hash ([`derive::PayloadAttributes`]). The batcher whose inbox transactions count,
//! the L2 gas limit, the EIP-1559 parameters and the L1 fee scalars follow the L1
//! `SystemConfig` events ([`system_config`]); the rollup config only gives their values before
//! the first event.
#![forbid(unsafe_code)]

pub mod admin_auth;
pub mod batch;
pub mod blob;
pub mod block;
pub mod channel;
pub mod config;
pub mod deposit;
pub mod derive;
pub mod fees;
pub mod frame;
pub mod l1_info;
pub mod output;
pub mod predeploys;
pub mod system_config;

pub use block::{BlockId, L1BlockInfo, L2BlockInfo};
pub use config::{ConfigError, Eip1559Params, Genesis, RollupConfig};
pub use fees::{l1_calldata_gas, l1_data_fee, next_base_fee};
pub use output::{output_root, OutputRootInput, OUTPUT_VERSION_V0};
pub use system_config::{L1FeeScalars, SystemConfigState};
