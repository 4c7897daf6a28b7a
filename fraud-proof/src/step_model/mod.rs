//! A Rust model of the L1 one-step verifier (`contracts/src/verifier/`): an EVM interpreter,
//! written independently of revm, that executes one L2 transaction from the same witness as
//! `EvmStepVerifier` with the same Parallax rules and yields the same post-state root, gas,
//! receipt leaf and commitment.
//!
//! Why a second interpreter: the challenger must know, before it spends L1 gas, what the
//! verifier will decide on a witness; and the three-way differential tests (revm, this model,
//! the Solidity verifier) pin the verifier's semantics down from two independent sides.
//!
//! The execution is an explicit [`MachineState`] advanced by [`step`], one instruction (or one
//! frame exit) at a time, with a deterministic [`MachineState::commitment`] (encoding in
//! `contracts/DISPUTE.md`, "Phase 2 groundwork"): a future bisection inside a transaction would
//! dispute these commitments. [`execute_transaction`] loops `step` over a whole transaction.
//!
//! Everything the witness lacks is a typed [`StepModelError`] (as the verifier reverts), never a
//! panic and never a guess.

mod commit;
pub mod precompiles;
pub mod state;
pub mod tx;

use std::collections::{HashMap, HashSet};

use alloy_primitives::{b256, keccak256, Address, Bytes, B256, I256, U256};
use parallax_protocol::l1_info::slots as l1_block_slots;

use crate::{mpt::MptError, trace::receipt_leaf};
pub use commit::COMMITMENT_VERSION;
pub use state::{PreAccount, Witness};
pub use tx::TxInput;

/// keccak256 of the empty string: the code hash of an account without code.
pub const EMPTY_CODE_HASH: B256 =
    b256!("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
/// The L1Block predeploy, whose slots 1, 2 and 5 price the L1 data fee.
const L1_BLOCK: Address = parallax_protocol::predeploys::L1_BLOCK;
const MAX_CODE_SIZE: usize = 24_576;
const MAX_INITCODE_SIZE: usize = 49_152;
const MAX_DEPTH: usize = 1024;
const STACK_LIMIT: usize = 1024;

/// Why the model could not decide a transaction. Each variant is a revert of the verifier.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StepModelError {
    /// The transaction could never have been included (the verifier's `InvalidTransaction`;
    /// reasons 1–9 from the interpreter, 20–25 from `TxDecoder`).
    #[error("invalid transaction (reason {0})")]
    InvalidTransaction(u8),
    /// An opcode or precompile input the verifier cannot execute exactly (modexp lengths above
    /// 1024 bytes).
    #[error("opcode {0:#04x} is not provable")]
    Unsupported(u8),
    /// Execution read an account the witness does not list.
    #[error("the witness lacks account {0}")]
    MissingAccount(Address),
    /// Execution read a slot the witness does not list.
    #[error("the witness lacks slot {1} of {0}")]
    MissingSlot(Address, U256),
    /// Execution needs bytecode the witness does not carry.
    #[error("the witness lacks code {0}")]
    MissingCode(B256),
    /// BLOCKHASH asked for a block of the 256-block window deeper than the witness's ancestor
    /// headers reach (the interpreter's `MissingAncestor`).
    #[error("the witness lacks the ancestor headers down to block {0}")]
    MissingAncestor(u64),
    /// An ancestor header of the witness does not hash to its block's proven hash (the
    /// verifier's `AncestorMismatch`).
    #[error("the witness's header of block {0} is not that block's")]
    AncestorMismatch(u64),
    /// An ancestor header hashes right but has no leading 32-byte parentHash field
    /// (`MalformedAncestor`).
    #[error("the witness's header of block {0} is malformed")]
    MalformedAncestor(u64),
    /// The witness is not `abi.encode(bytes[], bytes[], address[], address[], uint256[],
    /// bytes[])` with as many slot owners as keys and at most `min(255, number - 1)` ancestor
    /// headers.
    #[error("malformed witness")]
    MalformedWitness,
    /// A trie node is missing or malformed.
    #[error(transparent)]
    Trie(#[from] MptError),
    /// An account leaf of the pre-state is not an RLP account.
    #[error("account {0} has a malformed leaf")]
    InvalidAccount(Address),
    /// A storage leaf of the pre-state is not an RLP integer.
    #[error("slot {1} of {0} has a malformed leaf")]
    InvalidSlot(Address, U256),
    /// A checked arithmetic operation of the verifier would overflow (Solidity panics).
    #[error("arithmetic overflow (the verifier panics)")]
    Overflow,
    /// `step` was called on a finished machine.
    #[error("the transaction has already finished")]
    Finished,
}

/// The block fields the verifier is given (`BlockContext` of IStepVerifier.sol; its chain id is
/// replaced by the verifier's own, [`ChainConfig::chain_id`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockContext {
    /// Block number.
    pub number: U256,
    /// Block timestamp.
    pub timestamp: U256,
    /// Fee recipient of priority fees (COINBASE).
    pub coinbase: Address,
    /// Block gas limit.
    pub gas_limit: U256,
    /// Block base fee.
    pub base_fee: U256,
    /// PREVRANDAO.
    pub prev_randao: B256,
    /// The header's parentHash (hash of block `number - 1`), from which the witness's ancestor
    /// headers prove BLOCKHASH.
    pub parent_hash: B256,
}

/// The verifier's immutables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainConfig {
    /// L2 chain id.
    pub chain_id: u64,
    /// Receiver of the base fee.
    pub base_fee_vault: Address,
    /// Receiver of the L1 data fee.
    pub l1_fee_vault: Address,
}

/// An account the transaction wrote (`PostAccount` of EvmTypes.sol).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PostAccount {
    /// The account.
    pub address: Address,
    /// Removed from the trie (EIP-161 empty, or self-destructed).
    pub deleted: bool,
    /// Created in the transaction: its storage starts empty.
    pub storage_cleared: bool,
    /// Final nonce.
    pub nonce: u64,
    /// Final balance.
    pub balance: U256,
    /// Final code hash.
    pub code_hash: B256,
}

/// A slot whose final value differs from the pre-state (`PostSlot`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PostSlot {
    /// Owner.
    pub address: Address,
    /// Key.
    pub slot: U256,
    /// Final value.
    pub value: U256,
}

/// What executing one transaction did (`ExecResult`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecResult {
    /// Success.
    pub success: bool,
    /// Gas counted towards the block (0 for the L1-info deposit).
    pub gas_used: u64,
    /// The logs accumulator of DISPUTE.md.
    pub logs_acc: B256,
    /// Written accounts.
    pub accounts: Vec<PostAccount>,
    /// Written slots.
    pub slots: Vec<PostSlot>,
}

/// One account of the journaled cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedAccount {
    /// Address.
    pub address: Address,
    /// Current nonce.
    pub nonce: u64,
    /// Current balance.
    pub balance: U256,
    /// Current code hash.
    pub code_hash: B256,
    /// Touched (EIP-161 candidates; untouched accounts are never written).
    pub touched: bool,
    /// Created in this transaction (EIP-6780).
    pub created: bool,
    /// Self-destructed.
    pub destructed: bool,
    /// Code deployed in this transaction (None: the pre-state code, loaded on demand).
    pub deployed: Option<Bytes>,
    /// Whether it was in the pre-state trie.
    pub existed: bool,
}

impl CachedAccount {
    fn is_empty(&self) -> bool {
        self.nonce == 0 && self.balance.is_zero() && self.code_hash == EMPTY_CODE_HASH
    }

    fn deleted(&self) -> bool {
        self.touched && (self.destructed || self.is_empty())
    }
}

/// One storage slot of the journaled cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CachedSlot {
    /// Owner.
    pub address: Address,
    /// Key.
    pub key: U256,
    /// Value at the start of the transaction (EIP-2200 "original").
    pub original: U256,
    /// Current value.
    pub current: U256,
}

/// An undo record: reverting a frame pops these back to its checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JournalEntry {
    /// An address was warmed.
    WarmAccount,
    /// A slot was warmed.
    WarmSlot,
    /// A slot changed from `1`.
    Slot(usize, U256),
    /// A balance changed from `1`.
    Balance(usize, U256),
    /// A nonce changed from `1`.
    Nonce(usize, u64),
    /// An account was touched.
    Touch(usize),
    /// An account was created.
    Created(usize),
    /// Code was deployed.
    Code(usize),
    /// A transient slot changed from `1`.
    Transient(usize, U256),
    /// An account self-destructed.
    Destruct(usize),
}

impl JournalEntry {
    fn encode(&self, out: &mut Vec<u8>) {
        let (kind, index, value) = match *self {
            Self::WarmAccount => (1u8, 0, U256::ZERO),
            Self::WarmSlot => (2, 0, U256::ZERO),
            Self::Slot(i, v) => (3, i, v),
            Self::Balance(i, v) => (4, i, v),
            Self::Nonce(i, v) => (5, i, U256::from(v)),
            Self::Touch(i) => (6, i, U256::ZERO),
            Self::Created(i) => (7, i, U256::ZERO),
            Self::Code(i) => (8, i, U256::ZERO),
            Self::Transient(i, v) => (9, i, v),
            Self::Destruct(i) => (10, i, U256::ZERO),
        };
        out.push(kind);
        out.extend_from_slice(&(index as u64).to_be_bytes());
        out.extend_from_slice(&value.to_be_bytes::<32>());
    }
}

/// How a frame ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Halt {
    /// STOP (or running off the end of the code).
    Stop,
    /// RETURN.
    Return,
    /// REVERT.
    Revert,
    /// Exceptional halt: all gas consumed, state reverted.
    Error,
}

impl Halt {
    fn ok(self) -> bool {
        matches!(self, Halt::Stop | Halt::Return)
    }

    fn code(self) -> u8 {
        match self {
            Halt::Stop => 1,
            Halt::Return => 2,
            Halt::Revert => 3,
            Halt::Error => 4,
        }
    }
}

/// A call or create frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// A create frame (its output is the deployed code).
    pub is_create: bool,
    /// CALLER.
    pub caller: Address,
    /// ADDRESS: the account whose storage and balance the frame acts on.
    pub target: Address,
    /// CALLVALUE.
    pub value: U256,
    /// Static context (no state changes allowed).
    pub is_static: bool,
    /// The running code.
    pub code: Bytes,
    /// keccak256 of `code`.
    pub code_hash: B256,
    /// Calldata (empty for creates).
    pub input: Bytes,
    /// Program counter.
    pub pc: usize,
    /// Gas left.
    pub gas: u64,
    /// Refund counter of this frame (merged into the parent on success).
    pub refund: i64,
    /// The stack, bottom first.
    pub stack: Vec<U256>,
    /// Memory (its length is the memory size, a multiple of 32).
    pub memory: Vec<u8>,
    /// Return data of the last call.
    pub return_data: Bytes,
    /// Output of RETURN / REVERT.
    pub output: Bytes,
    /// Journal length at entry (revert checkpoint).
    pub checkpoint: usize,
    /// Logs accumulator at entry.
    pub logs_checkpoint: B256,
    /// Where the parent wants the output copied (call frames).
    pub ret_offset: U256,
    /// How many bytes of output the parent wants.
    pub ret_size: U256,
    /// Set when the frame has halted; the next step exits it.
    pub halted: Option<Halt>,
    /// JUMPDEST analysis of `code` (derived; not part of the commitment).
    jumpdests: Option<Vec<bool>>,
}

impl Frame {
    fn new() -> Self {
        Self {
            is_create: false,
            caller: Address::ZERO,
            target: Address::ZERO,
            value: U256::ZERO,
            is_static: false,
            code: Bytes::new(),
            code_hash: EMPTY_CODE_HASH,
            input: Bytes::new(),
            pc: 0,
            gas: 0,
            refund: 0,
            stack: Vec::new(),
            memory: Vec::new(),
            return_data: Bytes::new(),
            output: Bytes::new(),
            checkpoint: 0,
            logs_checkpoint: B256::ZERO,
            ret_offset: U256::ZERO,
            ret_size: U256::ZERO,
            halted: None,
            jumpdests: None,
        }
    }

    fn pop(&mut self) -> U256 {
        // Stack depth is checked against the opcode table before an opcode runs.
        self.stack.pop().unwrap_or_default()
    }

    fn push(&mut self, value: U256) {
        self.stack.push(value);
    }

    /// The item `n` places below the top (0 = top).
    fn peek(&self, n: usize) -> U256 {
        self.stack
            .len()
            .checked_sub(n + 1)
            .and_then(|i| self.stack.get(i))
            .copied()
            .unwrap_or_default()
    }

    fn charge(&mut self, cost: U256) -> bool {
        if cost > U256::from(self.gas) {
            return false;
        }
        self.gas -= cost.saturating_to::<u64>();
        true
    }

    fn charge_u64(&mut self, cost: u64) -> bool {
        self.charge(U256::from(cost))
    }

    /// `_expand`: EIP-150 memory expansion for [off, off + len), charged and grown.
    fn expand(&mut self, off: U256, len: U256) -> bool {
        if len.is_zero() {
            return true;
        }
        let limit = U256::from(0xffff_ffffu64);
        if off > limit || len > limit {
            return false;
        }
        let end = off.saturating_to::<u64>() + len.saturating_to::<u64>();
        let words = end.div_ceil(32);
        let current = self.memory.len() as u64 / 32;
        if words <= current {
            return true;
        }
        let cost = 3 * (words - current) + words * words / 512 - current * current / 512;
        if !self.charge_u64(cost) {
            return false;
        }
        self.memory.resize((words * 32) as usize, 0);
        true
    }

    /// Memory [off, off + len), already expanded (or empty).
    fn slice(&self, off: U256, len: U256) -> Bytes {
        if len.is_zero() {
            return Bytes::new();
        }
        let off = off.saturating_to::<usize>();
        let len = len.saturating_to::<usize>();
        Bytes::copy_from_slice(&self.memory[off..off + len])
    }

    fn is_jumpdest(&mut self, dest: U256) -> bool {
        if dest >= U256::from(self.code.len()) {
            return false;
        }
        let code = &self.code;
        let analysis = self.jumpdests.get_or_insert_with(|| {
            let mut marks = vec![false; code.len()];
            let mut pc = 0;
            while pc < code.len() {
                let op = code[pc];
                if op == 0x5b {
                    marks[pc] = true;
                }
                pc += 1;
                if (0x60..0x80).contains(&op) {
                    pc += usize::from(op - 0x5f);
                }
            }
            marks
        });
        analysis[dest.saturating_to::<usize>()]
    }
}

/// Where a machine is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Frames are executing.
    Running,
    /// The transaction is over.
    Finished(ExecResult),
}

/// What one [`step`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepOutcome {
    /// An instruction ran; the frame continues.
    Executed,
    /// An instruction opened a child frame.
    Entered,
    /// An instruction halted its frame (the next step exits it).
    Halted(Halt),
    /// A halted frame was exited and its result handed to its parent.
    Exited,
    /// The outermost frame was exited: the transaction is settled.
    Finished,
}

/// The complete machine state of one transaction between two steps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MachineState {
    /// The committed pre-state root the witness proves against.
    pub pre_state_root: B256,
    /// keccak256 of the transaction envelope.
    pub tx_hash: B256,
    /// The decoded transaction.
    pub tx: TxInput,
    /// The block.
    pub ctx: BlockContext,
    /// The verifier's immutables.
    pub config: ChainConfig,
    /// Effective gas price.
    pub gas_price: U256,
    /// L1 data fee charged up front.
    pub l1_fee: U256,
    /// Intrinsic gas.
    pub intrinsic_gas: u64,
    /// Journaled account cache, in first-touch order.
    pub accounts: Vec<CachedAccount>,
    /// Journaled slot cache, in first-touch order.
    pub slots: Vec<CachedSlot>,
    /// Transient storage (EIP-1153), in first-touch order.
    pub transient: Vec<(Address, U256, U256)>,
    /// Warm addresses (EIP-2929), in warming order.
    pub warm_accounts: Vec<Address>,
    /// Warm slots, in warming order.
    pub warm_slots: Vec<(Address, U256)>,
    /// The undo journal.
    pub journal: Vec<JournalEntry>,
    /// The logs accumulator.
    pub logs_acc: B256,
    /// Call frames, outermost first.
    pub frames: Vec<Frame>,
    /// Running or finished.
    pub phase: Phase,
    account_index: HashMap<Address, usize>,
    slot_index: HashMap<(Address, U256), usize>,
    transient_index: HashMap<(Address, U256), usize>,
    warm_account_set: HashSet<Address>,
    warm_slot_set: HashSet<(Address, U256)>,
}

/// `_words`: 32-byte words of `len`, capped at 2^64.
pub(crate) fn words(len: U256) -> U256 {
    let cap = U256::from(1u128 << 64);
    if len > cap {
        cap
    } else {
        (len + U256::from(31)) / U256::from(32)
    }
}

/// `_wordAt`: 32 bytes of `data` at `off`, zero-padded past the end.
pub(crate) fn word_at(data: &[u8], off: U256) -> [u8; 32] {
    let mut word = [0u8; 32];
    if off < U256::from(data.len()) {
        let off = off.saturating_to::<usize>();
        let n = (data.len() - off).min(32);
        word[..n].copy_from_slice(&data[off..off + n]);
    }
    word
}

fn address_of(value: U256) -> Address {
    Address::from_word(B256::from(value))
}

fn u256_of(address: Address) -> U256 {
    U256::from_be_slice(address.as_slice())
}

/// CREATE address: keccak256(rlp([sender, nonce]))[12:].
fn create_address(sender: Address, nonce: u64) -> Address {
    sender.create(nonce)
}

/// Per opcode: (stack items popped, pushed, static gas), `None` for undefined opcodes.
fn opcode_info(op: u8) -> Option<(usize, usize, u64)> {
    Some(match op {
        0x00 => (0, 0, 0),
        0x01 | 0x03 => (2, 1, 3),
        0x02 | 0x04..=0x07 | 0x0b => (2, 1, 5),
        0x08 | 0x09 => (3, 1, 8),
        0x0a => (2, 1, 10),
        0x10..=0x14 | 0x16..=0x18 | 0x1a..=0x1d => (2, 1, 3),
        0x15 | 0x19 => (1, 1, 3),
        0x20 => (2, 1, 30),
        0x30 | 0x32 | 0x33 | 0x34 | 0x36 | 0x38 | 0x3a | 0x3d => (0, 1, 2),
        0x41..=0x46 | 0x48 | 0x4a => (0, 1, 2),
        0x31 | 0x3b | 0x3f => (1, 1, 0),
        0x35 => (1, 1, 3),
        0x37 | 0x39 | 0x3e => (3, 0, 3),
        0x3c => (4, 0, 0),
        0x40 => (1, 1, 20),
        0x47 => (0, 1, 5),
        0x49 => (1, 1, 3),
        0x50 => (1, 0, 2),
        0x51 => (1, 1, 3),
        0x52 | 0x53 => (2, 0, 3),
        0x54 => (1, 1, 0),
        0x55 => (2, 0, 0),
        0x56 => (1, 0, 8),
        0x57 => (2, 0, 10),
        0x58 | 0x59 | 0x5a | 0x5f => (0, 1, 2),
        0x5b => (0, 0, 1),
        0x5c => (1, 1, 100),
        0x5d => (2, 0, 100),
        0x5e => (3, 0, 3),
        0x60..=0x7f => (0, 1, 3),
        0x80..=0x8f => {
            let n = usize::from(op - 0x7f);
            (n, n + 1, 3)
        }
        0x90..=0x9f => {
            let n = usize::from(op - 0x8e);
            (n, n, 3)
        }
        0xa0..=0xa4 => {
            let n = u64::from(op - 0xa0);
            (n as usize + 2, 0, 375 * (n + 1))
        }
        0xf0 => (3, 1, 32_000),
        0xf1 | 0xf2 => (7, 1, 0),
        0xf3 | 0xfd => (2, 0, 0),
        0xf4 | 0xfa => (6, 1, 0),
        0xf5 => (4, 1, 32_000),
        0xff => (1, 0, 5000),
        _ => return None,
    })
}

/// `PRECOMPILES.intrinsicGas`.
fn intrinsic_gas(tx: &TxInput) -> u64 {
    let keys: u64 = tx.access_list.iter().map(|(_, k)| k.len() as u64).sum();
    let mut gas = 21_000 + 2400 * tx.access_list.len() as u64 + 1900 * keys;
    let non_zero = tx.data.iter().filter(|b| **b != 0).count() as u64;
    gas += 16 * non_zero + 4 * (tx.data.len() as u64 - non_zero);
    if tx.is_create {
        gas += 32_000 + 2 * (tx.data.len() as u64).div_ceil(32);
    }
    gas
}

/// `PRECOMPILES.l1Fee`: protocol/src/fees.rs `l1_data_fee`, saturating.
fn l1_fee(l1_gas_used: u64, base_fee: U256, blob_fee: U256, scalars: U256) -> U256 {
    let base_scalar = U256::from(scalars.as_limbs()[0] & 0xffff_ffff);
    let blob_scalar = U256::from(scalars.as_limbs()[0] >> 32);
    let weighted = (U256::from(16) * base_scalar)
        .saturating_mul(base_fee)
        .saturating_add(blob_scalar.saturating_mul(blob_fee));
    U256::from(l1_gas_used).saturating_mul(weighted) / U256::from(16_000_000)
}

impl MachineState {
    /// Starts `tx` (validation, up-front fees, nonce, warm sets, the first frame), as
    /// `EvmInterpreter.execute` does before its frame loop. Returns a finished machine for a
    /// transaction that runs no code (a refused deposit, a transfer, a precompile call).
    pub fn start(
        pre_state_root: B256,
        tx_hash: B256,
        tx: TxInput,
        ctx: BlockContext,
        config: ChainConfig,
        witness: &Witness,
    ) -> Result<Self, StepModelError> {
        let mut m = Self {
            pre_state_root,
            tx_hash,
            tx,
            ctx,
            config,
            gas_price: U256::ZERO,
            l1_fee: U256::ZERO,
            intrinsic_gas: 0,
            accounts: Vec::new(),
            slots: Vec::new(),
            transient: Vec::new(),
            warm_accounts: Vec::new(),
            warm_slots: Vec::new(),
            journal: Vec::new(),
            logs_acc: B256::ZERO,
            frames: Vec::new(),
            phase: Phase::Running,
            account_index: HashMap::new(),
            slot_index: HashMap::new(),
            transient_index: HashMap::new(),
            warm_account_set: HashSet::new(),
            warm_slot_set: HashSet::new(),
        };
        let t = m.tx.clone();
        let deposit = t.is_deposit();
        let s = m.acc(t.from, witness)?;
        if deposit && !t.mint.is_zero() {
            let balance = m.accounts[s]
                .balance
                .checked_add(t.mint)
                .ok_or(StepModelError::Overflow)?;
            m.set_balance(s, balance);
        }
        m.intrinsic_gas = intrinsic_gas(&t);
        m.l1_fee = if deposit || t.l1_gas_used == 0 {
            U256::ZERO
        } else {
            l1_fee(
                t.l1_gas_used,
                witness.slot(L1_BLOCK, l1_block_slots::BASE_FEE)?,
                witness.slot(L1_BLOCK, l1_block_slots::BLOB_BASE_FEE)?,
                witness.slot(L1_BLOCK, l1_block_slots::SCALARS_AND_BLOCK_RULES)?,
            )
        };
        let reason = m.validate(s)?;
        if reason != 0 {
            if !deposit {
                return Err(StepModelError::InvalidTransaction(reason));
            }
            let a = witness.account(t.from)?;
            m.phase = Phase::Finished(ExecResult {
                success: false,
                gas_used: if t.is_system { 0 } else { t.gas_limit },
                logs_acc: B256::ZERO,
                accounts: vec![PostAccount {
                    address: t.from,
                    deleted: false,
                    storage_cleared: false,
                    nonce: a.nonce.checked_add(1).ok_or(StepModelError::Overflow)?,
                    balance: a.balance.saturating_add(t.mint),
                    code_hash: a.code_hash,
                }],
                slots: Vec::new(),
            });
            return Ok(m);
        }
        m.gas_price = m.effective_price();
        let upfront = U256::from(t.gas_limit) * m.gas_price + m.l1_fee;
        let balance = m.accounts[s]
            .balance
            .checked_sub(upfront)
            .ok_or(StepModelError::Overflow)?;
        m.set_balance(s, balance);
        if !t.is_create {
            let nonce = m.accounts[s]
                .nonce
                .checked_add(1)
                .ok_or(StepModelError::Overflow)?;
            m.set_nonce(s, nonce);
        }
        m.warm(t.from);
        if !t.is_create {
            m.warm(t.to);
        }
        m.warm(m.ctx.coinbase);
        for (address, keys) in &t.access_list {
            m.warm(*address);
            for key in keys {
                m.warm_slot(*address, *key);
            }
        }
        let gas = t.gas_limit - m.intrinsic_gas;
        if t.is_create {
            m.start_create(gas, witness)?;
        } else {
            m.start_call(gas, witness)?;
        }
        Ok(m)
    }

    /// `_validate`: 0, or the reason the transaction is invalid.
    fn validate(&self, s: usize) -> Result<u8, StepModelError> {
        let t = &self.tx;
        let deposit = t.is_deposit();
        if U256::from(t.gas_limit) > self.ctx.gas_limit {
            return Ok(1);
        }
        if !deposit {
            if t.max_priority_fee_per_gas > t.max_fee_per_gas {
                return Ok(2);
            }
            if t.max_fee_per_gas < self.ctx.base_fee {
                return Ok(3);
            }
        }
        if t.is_create && t.data.len() > MAX_INITCODE_SIZE {
            return Ok(4);
        }
        if self.intrinsic_gas > t.gas_limit {
            return Ok(5);
        }
        let a = &self.accounts[s];
        if a.code_hash != EMPTY_CODE_HASH {
            return Ok(6);
        }
        if !deposit && t.nonce != a.nonce {
            return Ok(7);
        }
        let Some(max_spend) = U256::from(t.gas_limit).checked_mul(t.max_fee_per_gas) else {
            return Ok(8);
        };
        let Some(needed) = max_spend.checked_add(t.value) else {
            return Ok(8);
        };
        if a.balance < needed {
            return Ok(8);
        }
        let after_gas = a.balance - U256::from(t.gas_limit) * self.effective_price();
        if !self.l1_fee.is_zero()
            && after_gas
                < t.value
                    .checked_add(self.l1_fee)
                    .ok_or(StepModelError::Overflow)?
        {
            return Ok(9);
        }
        Ok(0)
    }

    fn effective_price(&self) -> U256 {
        let t = &self.tx;
        if t.is_deposit() {
            return U256::ZERO;
        }
        if t.tx_type != 2 {
            return t.max_fee_per_gas;
        }
        (self.ctx.base_fee + t.max_priority_fee_per_gas).min(t.max_fee_per_gas)
    }

    fn start_call(&mut self, gas: u64, witness: &Witness) -> Result<(), StepModelError> {
        let t = self.tx.clone();
        let checkpoint = self.journal.len();
        let logs = self.logs_acc;
        if !self.transfer(t.from, t.to, t.value, witness)? {
            return self.finish(Halt::Error, 0, 0, witness);
        }
        if precompiles::is_precompile(t.to) {
            return match precompiles::run(t.to, &t.data, gas)? {
                None => {
                    self.revert_to(checkpoint, logs);
                    self.finish(Halt::Error, 0, 0, witness)
                }
                Some((cost, _)) => self.finish(Halt::Return, gas - cost, 0, witness),
            };
        }
        let to = self.acc(t.to, witness)?;
        let code = self.code(to, witness)?;
        if code.is_empty() {
            return self.finish(Halt::Stop, gas, 0, witness);
        }
        let mut f = Frame::new();
        f.caller = t.from;
        f.target = t.to;
        f.value = t.value;
        f.code_hash = keccak256(&code);
        f.code = code;
        f.input = t.data.clone();
        f.gas = gas;
        f.checkpoint = checkpoint;
        f.logs_checkpoint = logs;
        self.frames.push(f);
        Ok(())
    }

    fn start_create(&mut self, gas: u64, witness: &Witness) -> Result<(), StepModelError> {
        let t = self.tx.clone();
        let s = self.acc(t.from, witness)?;
        let nonce = self.accounts[s].nonce;
        self.set_nonce(s, nonce.checked_add(1).ok_or(StepModelError::Overflow)?);
        let created = create_address(t.from, nonce);
        self.warm(created);
        let mut f = Frame::new();
        f.gas = gas;
        f.caller = t.from;
        f.target = created;
        f.value = t.value;
        f.code_hash = keccak256(&t.data);
        f.code = t.data.clone();
        let (ok, collided) = self.enter_create(&mut f, witness)?;
        if !ok {
            return self.finish(Halt::Error, if collided { 0 } else { gas }, 0, witness);
        }
        self.frames.push(f);
        Ok(())
    }

    /// `_settle` and `_writes`: the outermost frame ended with `halt`, `remaining` gas unused
    /// and `refund`.
    fn finish(
        &mut self,
        halt: Halt,
        remaining: u64,
        refund: i64,
        witness: &Witness,
    ) -> Result<(), StepModelError> {
        let success = halt.ok();
        let refund = if success { refund } else { 0 };
        let t = self.tx.clone();
        let mut used = t.gas_limit - remaining;
        let refunded = u64::try_from(refund.max(0))
            .unwrap_or_default()
            .min(used / 5);
        used -= refunded;
        let s = self.acc(t.from, witness)?;
        let back = self.gas_price * U256::from(remaining + refunded);
        let balance = self.accounts[s]
            .balance
            .checked_add(back)
            .ok_or(StepModelError::Overflow)?;
        self.set_balance(s, balance);
        let base_fee = self.ctx.base_fee;
        let tip = self.gas_price.saturating_sub(base_fee);
        let c = self.acc(self.ctx.coinbase, witness)?;
        self.credit(c, tip * U256::from(used))?;
        let v = self.acc(self.config.base_fee_vault, witness)?;
        self.credit(v, base_fee.min(self.gas_price) * U256::from(used))?;
        if !self.l1_fee.is_zero() {
            let l = self.acc(self.config.l1_fee_vault, witness)?;
            self.credit(l, self.l1_fee)?;
        }
        let mut accounts = Vec::new();
        for a in &self.accounts {
            let deleted = a.deleted();
            if !a.touched || (deleted && !a.existed) {
                continue;
            }
            accounts.push(PostAccount {
                address: a.address,
                deleted,
                storage_cleared: a.created,
                nonce: a.nonce,
                balance: a.balance,
                code_hash: a.code_hash,
            });
        }
        let mut slots = Vec::new();
        for s in &self.slots {
            let owner = &self.accounts[self.account_index[&s.address]];
            if s.current == s.original || owner.deleted() {
                continue;
            }
            slots.push(PostSlot {
                address: s.address,
                slot: s.key,
                value: s.current,
            });
        }
        self.phase = Phase::Finished(ExecResult {
            success,
            gas_used: if t.is_system { 0 } else { used },
            logs_acc: self.logs_acc,
            accounts,
            slots,
        });
        Ok(())
    }

    fn credit(&mut self, i: usize, amount: U256) -> Result<(), StepModelError> {
        let balance = self.accounts[i]
            .balance
            .checked_add(amount)
            .ok_or(StepModelError::Overflow)?;
        self.set_balance(i, balance);
        Ok(())
    }

    // ------------------------------------------------------------ state cache

    fn acc(&mut self, address: Address, witness: &Witness) -> Result<usize, StepModelError> {
        if let Some(i) = self.account_index.get(&address) {
            return Ok(*i);
        }
        let pre = witness.account(address)?;
        let i = self.accounts.len();
        self.accounts.push(CachedAccount {
            address,
            nonce: pre.nonce,
            balance: pre.balance,
            code_hash: pre.code_hash,
            touched: false,
            created: false,
            destructed: false,
            deployed: None,
            existed: pre.exists,
        });
        self.account_index.insert(address, i);
        Ok(i)
    }

    fn slot(
        &mut self,
        address: Address,
        key: U256,
        witness: &Witness,
    ) -> Result<usize, StepModelError> {
        if let Some(i) = self.slot_index.get(&(address, key)) {
            return Ok(*i);
        }
        let a = self.acc(address, witness)?;
        let value = if self.accounts[a].created {
            U256::ZERO
        } else {
            witness.slot(address, key)?
        };
        let i = self.slots.len();
        self.slots.push(CachedSlot {
            address,
            key,
            original: value,
            current: value,
        });
        self.slot_index.insert((address, key), i);
        Ok(i)
    }

    fn tslot(&mut self, address: Address, key: U256) -> usize {
        if let Some(i) = self.transient_index.get(&(address, key)) {
            return *i;
        }
        let i = self.transient.len();
        self.transient.push((address, key, U256::ZERO));
        self.transient_index.insert((address, key), i);
        i
    }

    /// Warms `address`; whether it was cold. Precompiles are always warm.
    fn warm(&mut self, address: Address) -> bool {
        if precompiles::is_precompile(address) || !self.warm_account_set.insert(address) {
            return false;
        }
        self.warm_accounts.push(address);
        self.journal.push(JournalEntry::WarmAccount);
        true
    }

    fn warm_slot(&mut self, address: Address, key: U256) -> bool {
        if !self.warm_slot_set.insert((address, key)) {
            return false;
        }
        self.warm_slots.push((address, key));
        self.journal.push(JournalEntry::WarmSlot);
        true
    }

    fn touch(&mut self, i: usize) {
        if self.accounts[i].touched {
            return;
        }
        self.journal.push(JournalEntry::Touch(i));
        self.accounts[i].touched = true;
    }

    fn set_balance(&mut self, i: usize, value: U256) {
        self.touch(i);
        self.journal
            .push(JournalEntry::Balance(i, self.accounts[i].balance));
        self.accounts[i].balance = value;
    }

    fn set_nonce(&mut self, i: usize, value: u64) {
        self.touch(i);
        self.journal
            .push(JournalEntry::Nonce(i, self.accounts[i].nonce));
        self.accounts[i].nonce = value;
    }

    /// revm's journal transfer: a zero value only touches the recipient.
    fn transfer(
        &mut self,
        from: Address,
        to: Address,
        value: U256,
        witness: &Witness,
    ) -> Result<bool, StepModelError> {
        let t = self.acc(to, witness)?;
        if value.is_zero() {
            self.touch(t);
            return Ok(true);
        }
        let f = self.acc(from, witness)?;
        if self.accounts[f].balance < value {
            return Ok(false);
        }
        self.set_balance(f, self.accounts[f].balance - value);
        let credited = self.accounts[t]
            .balance
            .checked_add(value)
            .ok_or(StepModelError::Overflow)?;
        self.set_balance(t, credited);
        Ok(true)
    }

    /// Unwinds the journal to `len` and restores the logs accumulator.
    fn revert_to(&mut self, len: usize, logs: B256) {
        while self.journal.len() > len {
            let Some(entry) = self.journal.pop() else {
                break;
            };
            match entry {
                JournalEntry::WarmAccount => {
                    if let Some(a) = self.warm_accounts.pop() {
                        self.warm_account_set.remove(&a);
                    }
                }
                JournalEntry::WarmSlot => {
                    if let Some(s) = self.warm_slots.pop() {
                        self.warm_slot_set.remove(&s);
                    }
                }
                JournalEntry::Slot(i, v) => self.slots[i].current = v,
                JournalEntry::Balance(i, v) => self.accounts[i].balance = v,
                JournalEntry::Nonce(i, v) => self.accounts[i].nonce = v,
                // revm keeps RIPEMD-160 touched (the 2016 consensus bug).
                JournalEntry::Touch(i) => {
                    self.accounts[i].touched =
                        self.accounts[i].address == Address::with_last_byte(3)
                }
                JournalEntry::Created(i) => self.accounts[i].created = false,
                JournalEntry::Transient(i, v) => self.transient[i].2 = v,
                JournalEntry::Destruct(i) => self.accounts[i].destructed = false,
                JournalEntry::Code(i) => {
                    self.accounts[i].deployed = Some(Bytes::new());
                    self.accounts[i].code_hash = EMPTY_CODE_HASH;
                }
            }
        }
        self.logs_acc = logs;
    }

    fn code(&self, i: usize, witness: &Witness) -> Result<Bytes, StepModelError> {
        let a = &self.accounts[i];
        if let Some(code) = &a.deployed {
            return Ok(code.clone());
        }
        if a.code_hash == EMPTY_CODE_HASH {
            return Ok(Bytes::new());
        }
        witness.code(a.code_hash).cloned()
    }

    /// `_enterCreate`: checkpoint, collision check, account creation, value transfer.
    fn enter_create(
        &mut self,
        c: &mut Frame,
        witness: &Witness,
    ) -> Result<(bool, bool), StepModelError> {
        c.is_create = true;
        c.checkpoint = self.journal.len();
        c.logs_checkpoint = self.logs_acc;
        let i = self.acc(c.target, witness)?;
        if self.accounts[i].code_hash != EMPTY_CODE_HASH || self.accounts[i].nonce != 0 {
            return Ok((false, true));
        }
        self.journal.push(JournalEntry::Created(i));
        self.accounts[i].created = true;
        self.set_nonce(i, 1);
        if !self.transfer(c.caller, c.target, c.value, witness)? {
            self.revert_to(c.checkpoint, c.logs_checkpoint);
            return Ok((false, false));
        }
        Ok((true, false))
    }
}

/// Executes exactly one instruction of the innermost frame, or exits a halted frame (handing
/// its result to the parent, or settling the transaction when it is the outermost).
pub fn step(m: &mut MachineState, witness: &Witness) -> Result<StepOutcome, StepModelError> {
    if matches!(m.phase, Phase::Finished(_)) {
        return Err(StepModelError::Finished);
    }
    let Some(frame) = m.frames.last() else {
        return Err(StepModelError::Finished);
    };
    if let Some(halt) = frame.halted {
        return exit_frame(m, halt, witness);
    }
    let result = execute_instruction(m, witness)?;
    Ok(match result {
        Flow::Continue => StepOutcome::Executed,
        Flow::Child(child) => {
            m.frames.push(*child);
            StepOutcome::Entered
        }
        Flow::Halt(halt) => {
            if let Some(f) = m.frames.last_mut() {
                f.halted = Some(halt);
            }
            StepOutcome::Halted(halt)
        }
    })
}

/// `_halt` then `_resume` (or the settlement).
fn exit_frame(
    m: &mut MachineState,
    halt: Halt,
    witness: &Witness,
) -> Result<StepOutcome, StepModelError> {
    let Some(mut f) = m.frames.pop() else {
        return Err(StepModelError::Finished);
    };
    let mut status = halt;
    if status == Halt::Error {
        f.gas = 0;
    }
    if f.is_create && status.ok() {
        let out = if status == Halt::Return {
            f.output.clone()
        } else {
            Bytes::new()
        };
        let deposit = 200 * out.len() as u64;
        if out.len() > MAX_CODE_SIZE || out.first() == Some(&0xef) || f.gas < deposit {
            status = Halt::Error;
            f.gas = 0;
        } else {
            f.gas -= deposit;
            let i = m.acc(f.target, witness)?;
            m.journal.push(JournalEntry::Code(i));
            m.accounts[i].code_hash = if out.is_empty() {
                EMPTY_CODE_HASH
            } else {
                keccak256(&out)
            };
            m.accounts[i].deployed = Some(out);
        }
    }
    if matches!(status, Halt::Error | Halt::Revert) {
        m.revert_to(f.checkpoint, f.logs_checkpoint);
        f.refund = 0;
    }
    if status == Halt::Error {
        f.output = Bytes::new();
    }
    let Some(p) = m.frames.last_mut() else {
        let remaining = if status == Halt::Error { 0 } else { f.gas };
        m.finish(status, remaining, f.refund, witness)?;
        return Ok(StepOutcome::Finished);
    };
    let ok = status.ok();
    if status != Halt::Error {
        p.gas += f.gas;
    }
    if ok {
        p.refund += f.refund;
    }
    if f.is_create {
        p.return_data = if status == Halt::Revert {
            f.output
        } else {
            Bytes::new()
        };
        p.push(if ok { u256_of(f.target) } else { U256::ZERO });
    } else {
        if ok || status == Halt::Revert {
            copy_out(p, f.ret_offset, f.ret_size, &f.output);
        }
        p.return_data = f.output;
        p.push(U256::from(u8::from(ok)));
    }
    Ok(StepOutcome::Exited)
}

fn copy_out(p: &mut Frame, off: U256, size: U256, out: &[u8]) {
    let n = U256::from(out.len()).min(size).saturating_to::<usize>();
    if n == 0 {
        return;
    }
    let off = off.saturating_to::<usize>();
    p.memory[off..off + n].copy_from_slice(&out[..n]);
}

/// What an instruction did to control flow.
enum Flow {
    Continue,
    Child(Box<Frame>),
    Halt(Halt),
}

/// Runs the next instruction of the innermost frame.
fn execute_instruction(m: &mut MachineState, witness: &Witness) -> Result<Flow, StepModelError> {
    let depth = m.frames.len() - 1;
    let mut f = std::mem::replace(&mut m.frames[depth], Frame::new());
    let result = instruction(m, &mut f, depth, witness);
    m.frames[depth] = f;
    result
}

fn instruction(
    m: &mut MachineState,
    f: &mut Frame,
    depth: usize,
    witness: &Witness,
) -> Result<Flow, StepModelError> {
    use Flow::{Continue, Halt as H};
    let err = Ok(H(Halt::Error));
    let pc = f.pc;
    let op = f.code.get(pc).copied().unwrap_or(0);
    let Some((pops, pushes, static_gas)) = opcode_info(op) else {
        return err;
    };
    let sp = f.stack.len();
    if sp < pops || sp - pops + pushes > STACK_LIMIT {
        return err;
    }
    if !f.charge_u64(static_gas) {
        return err;
    }
    f.pc = pc + 1;
    macro_rules! binary {
        ($e:expr) => {{
            let a = f.pop();
            let b = f.pop();
            #[allow(clippy::redundant_closure_call)]
            f.push(($e)(a, b));
        }};
    }
    match op {
        0x00 => return Ok(H(Halt::Stop)),
        0x01 => binary!(|a: U256, b| a.wrapping_add(b)),
        0x02 => binary!(|a: U256, b| a.wrapping_mul(b)),
        0x03 => binary!(|a: U256, b| a.wrapping_sub(b)),
        0x04 => binary!(|a: U256, b: U256| a.checked_div(b).unwrap_or_default()),
        0x05 => binary!(|a: U256, b: U256| {
            if b.is_zero() {
                U256::ZERO
            } else {
                I256::from_raw(a)
                    .overflowing_div(I256::from_raw(b))
                    .0
                    .into_raw()
            }
        }),
        0x06 => binary!(|a: U256, b: U256| a.checked_rem(b).unwrap_or_default()),
        0x07 => binary!(|a: U256, b: U256| {
            if b.is_zero() {
                U256::ZERO
            } else {
                I256::from_raw(a)
                    .overflowing_rem(I256::from_raw(b))
                    .0
                    .into_raw()
            }
        }),
        0x08 | 0x09 => {
            let a = f.pop();
            let b = f.pop();
            let n = f.pop();
            f.push(if op == 0x08 {
                a.add_mod(b, n)
            } else {
                a.mul_mod(b, n)
            });
        }
        0x0a => {
            let a = f.pop();
            let b = f.pop();
            let bytes = b.bit_len().div_ceil(8) as u64;
            if !f.charge_u64(50 * bytes) {
                return err;
            }
            f.push(a.wrapping_pow(b));
        }
        0x0b => binary!(|b: U256, x: U256| {
            if b < U256::from(31) {
                let bit = b.saturating_to::<usize>() * 8 + 7;
                let mask = (U256::from(1) << bit) - U256::from(1);
                if x.bit(bit) {
                    x | !mask
                } else {
                    x & mask
                }
            } else {
                x
            }
        }),
        0x10 => binary!(|a: U256, b: U256| U256::from(u8::from(a < b))),
        0x11 => binary!(|a: U256, b: U256| U256::from(u8::from(a > b))),
        0x12 => {
            binary!(|a: U256, b: U256| U256::from(u8::from(I256::from_raw(a) < I256::from_raw(b))))
        }
        0x13 => {
            binary!(|a: U256, b: U256| U256::from(u8::from(I256::from_raw(a) > I256::from_raw(b))))
        }
        0x14 => binary!(|a: U256, b: U256| U256::from(u8::from(a == b))),
        0x15 => {
            let a = f.pop();
            f.push(U256::from(u8::from(a.is_zero())));
        }
        0x16 => binary!(|a: U256, b| a & b),
        0x17 => binary!(|a: U256, b| a | b),
        0x18 => binary!(|a: U256, b| a ^ b),
        0x19 => {
            let a = f.pop();
            f.push(!a);
        }
        0x1a => binary!(|i: U256, x: U256| {
            if i < U256::from(32) {
                U256::from(x.byte(31 - i.saturating_to::<usize>()))
            } else {
                U256::ZERO
            }
        }),
        0x1b => binary!(|s: U256, x: U256| if s < U256::from(256) {
            x << s.saturating_to::<usize>()
        } else {
            U256::ZERO
        }),
        0x1c => binary!(|s: U256, x: U256| if s < U256::from(256) {
            x >> s.saturating_to::<usize>()
        } else {
            U256::ZERO
        }),
        0x1d => binary!(|s: U256, x: U256| {
            let negative = x.bit(255);
            if s < U256::from(256) {
                I256::from_raw(x).asr(s.saturating_to::<usize>()).into_raw()
            } else if negative {
                U256::MAX
            } else {
                U256::ZERO
            }
        }),
        0x20 => {
            let off = f.pop();
            let len = f.pop();
            if !f.charge(U256::from(6) * words(len)) || !f.expand(off, len) {
                return err;
            }
            let hash = keccak256(f.slice(off, len));
            f.push(hash.into());
        }
        0x31 | 0x3b | 0x3f => {
            let a = address_of(f.pop());
            let cost = if m.warm(a) { 2600 } else { 100 };
            if !f.charge_u64(cost) {
                return err;
            }
            let i = m.acc(a, witness)?;
            let value = match op {
                0x31 => m.accounts[i].balance,
                0x3b => U256::from(m.code(i, witness)?.len()),
                _ if m.accounts[i].is_empty() => U256::ZERO,
                _ => m.accounts[i].code_hash.into(),
            };
            f.push(value);
        }
        0x35 => {
            let off = f.pop();
            f.push(U256::from_be_bytes(word_at(&f.input, off)));
        }
        0x37 => {
            let src = f.input.clone();
            return Ok(copy(f, &src, false));
        }
        0x39 => {
            let src = f.code.clone();
            return Ok(copy(f, &src, false));
        }
        0x3e => {
            let src = f.return_data.clone();
            return Ok(copy(f, &src, true));
        }
        0x3c => {
            let a = address_of(f.pop());
            let copy_gas = U256::from(3) * words(f.peek(2));
            if !f.charge(copy_gas) || !f.expand(f.peek(0), f.peek(2)) {
                return err;
            }
            let access = if m.warm(a) { 2600 } else { 100 };
            if !f.charge_u64(access) {
                return err;
            }
            // `_copy` charges the copy gas again.
            f.gas += copy_gas.saturating_to::<u64>();
            let i = m.acc(a, witness)?;
            let code = m.code(i, witness)?;
            return Ok(copy(f, &code, false));
        }
        0x40 => {
            // Cancun: the hash of one of the 256 previous blocks, zero for any other number.
            let n = f.pop();
            let mut hash = U256::ZERO;
            if n < m.ctx.number && m.ctx.number - n <= U256::from(256) {
                let depth = (m.ctx.number - n - U256::from(1)).saturating_to::<usize>();
                let proven = witness
                    .block_hash(depth)
                    .ok_or(StepModelError::MissingAncestor(n.saturating_to()))?;
                hash = U256::from_be_bytes(proven.0);
            }
            f.push(hash);
        }
        0x47 => {
            let i = m.acc(f.target, witness)?;
            f.push(m.accounts[i].balance);
        }
        0x49 => {
            f.pop();
            f.push(U256::ZERO);
        }
        0x30 => f.push(u256_of(f.target)),
        0x32 => f.push(u256_of(m.tx.from)),
        0x33 => f.push(u256_of(f.caller)),
        0x34 => f.push(f.value),
        0x36 => f.push(U256::from(f.input.len())),
        0x38 => f.push(U256::from(f.code.len())),
        0x3a => f.push(m.gas_price),
        0x3d => f.push(U256::from(f.return_data.len())),
        0x41 => f.push(u256_of(m.ctx.coinbase)),
        0x42 => f.push(m.ctx.timestamp),
        0x43 => f.push(m.ctx.number),
        0x44 => f.push(m.ctx.prev_randao.into()),
        0x45 => f.push(m.ctx.gas_limit),
        0x46 => f.push(U256::from(m.config.chain_id)),
        0x48 => f.push(m.ctx.base_fee),
        // BLOBBASEFEE: an L2 block has zero excess blob gas, so the blob price is 1.
        0x4a => f.push(U256::from(1)),
        0x50 => {
            f.pop();
        }
        0x51 => {
            let off = f.pop();
            if !f.expand(off, U256::from(32)) {
                return err;
            }
            let o = off.saturating_to::<usize>();
            f.push(U256::from_be_slice(&f.memory[o..o + 32]));
        }
        0x52 | 0x53 => {
            let off = f.pop();
            let v = f.pop();
            let len = if op == 0x52 { 32 } else { 1 };
            if !f.expand(off, U256::from(len)) {
                return err;
            }
            let o = off.saturating_to::<usize>();
            if op == 0x52 {
                f.memory[o..o + 32].copy_from_slice(&v.to_be_bytes::<32>());
            } else {
                f.memory[o] = v.byte(0);
            }
        }
        0x54 => {
            let key = f.pop();
            let cost = if m.warm_slot(f.target, key) {
                2100
            } else {
                100
            };
            if !f.charge_u64(cost) {
                return err;
            }
            let i = m.slot(f.target, key, witness)?;
            f.push(m.slots[i].current);
        }
        0x55 => return sstore(m, f, witness),
        0x56 | 0x57 => {
            let dest = f.pop();
            let cond = if op == 0x57 { f.pop() } else { U256::from(1) };
            if !cond.is_zero() {
                if !f.is_jumpdest(dest) {
                    return err;
                }
                f.pc = dest.saturating_to::<usize>();
            }
        }
        0x58 => f.push(U256::from(pc)),
        0x59 => f.push(U256::from(f.memory.len())),
        0x5a => f.push(U256::from(f.gas)),
        0x5b => {}
        0x5c => {
            let key = f.pop();
            let i = m.tslot(f.target, key);
            f.push(m.transient[i].2);
        }
        0x5d => {
            if f.is_static {
                return err;
            }
            let key = f.pop();
            let v = f.pop();
            let i = m.tslot(f.target, key);
            m.journal.push(JournalEntry::Transient(i, m.transient[i].2));
            m.transient[i].2 = v;
        }
        0x5e => {
            let dst = f.pop();
            let src = f.pop();
            let len = f.pop();
            if !f.charge(U256::from(3) * words(len)) {
                return err;
            }
            if !len.is_zero() {
                if !f.expand(dst.max(src), len) {
                    return err;
                }
                let (d, s, l) = (
                    dst.saturating_to::<usize>(),
                    src.saturating_to::<usize>(),
                    len.saturating_to::<usize>(),
                );
                // Both ranges are inside memory: the larger offset was expanded for `len`.
                f.memory.copy_within(s..s + l, d);
            }
        }
        0x5f => f.push(U256::ZERO),
        0x60..=0x7f => {
            let n = usize::from(op - 0x5f);
            let mut word = [0u8; 32];
            for (k, byte) in word[32 - n..].iter_mut().enumerate() {
                *byte = f.code.get(pc + 1 + k).copied().unwrap_or(0);
            }
            f.push(U256::from_be_bytes(word));
            f.pc = pc + 1 + n;
        }
        0x80..=0x8f => {
            let v = f.peek(usize::from(op - 0x80));
            f.push(v);
        }
        0x90..=0x9f => {
            let top = f.stack.len() - 1;
            f.stack.swap(top, top - usize::from(op - 0x8f));
        }
        0xa0..=0xa4 => {
            if f.is_static {
                return err;
            }
            let off = f.pop();
            let len = f.pop();
            let n = usize::from(op - 0xa0);
            if len > U256::from(0xffff_ffffu64)
                || !f.charge(U256::from(8) * len)
                || !f.expand(off, len)
            {
                return err;
            }
            let mut packed = Vec::with_capacity(32 + 20 + 1 + 32 * n + 32);
            packed.extend_from_slice(m.logs_acc.as_slice());
            packed.extend_from_slice(f.target.as_slice());
            packed.push(n as u8);
            for _ in 0..n {
                packed.extend_from_slice(&f.pop().to_be_bytes::<32>());
            }
            packed.extend_from_slice(keccak256(f.slice(off, len)).as_slice());
            m.logs_acc = keccak256(&packed);
        }
        0xf3 | 0xfd => {
            let off = f.pop();
            let len = f.pop();
            if !f.expand(off, len) {
                return err;
            }
            f.output = f.slice(off, len);
            return Ok(H(if op == 0xf3 {
                Halt::Return
            } else {
                Halt::Revert
            }));
        }
        0xf0 | 0xf5 => return create(m, f, depth, op == 0xf5, witness),
        0xff => return selfdestruct(m, f, witness),
        0xf1 | 0xf2 | 0xf4 | 0xfa => return call(m, f, depth, op, witness),
        _ => return err,
    }
    Ok(Continue)
}

/// CALLDATACOPY / CODECOPY / EXTCODECOPY / RETURNDATACOPY (`strict`: no reading past the end).
fn copy(f: &mut Frame, src: &[u8], strict: bool) -> Flow {
    let dst = f.pop();
    let off = f.pop();
    let len = f.pop();
    let src_len = U256::from(src.len());
    if strict && (off > src_len || len > src_len - off) {
        return Flow::Halt(Halt::Error);
    }
    if !f.charge(U256::from(3) * words(len)) {
        return Flow::Halt(Halt::Error);
    }
    if len.is_zero() {
        return Flow::Continue;
    }
    if !f.expand(dst, len) {
        return Flow::Halt(Halt::Error);
    }
    let d = dst.saturating_to::<usize>();
    let l = len.saturating_to::<usize>();
    let avail = if off >= src_len {
        0
    } else {
        src.len() - off.saturating_to::<usize>()
    };
    let n = avail.min(l);
    if n > 0 {
        let o = off.saturating_to::<usize>();
        f.memory[d..d + n].copy_from_slice(&src[o..o + n]);
    }
    f.memory[d + n..d + l].fill(0);
    Flow::Continue
}

/// SSTORE with EIP-2200 / EIP-2929 gas and EIP-3529 refunds.
fn sstore(m: &mut MachineState, f: &mut Frame, witness: &Witness) -> Result<Flow, StepModelError> {
    if f.is_static || f.gas <= 2300 {
        return Ok(Flow::Halt(Halt::Error));
    }
    let key = f.pop();
    let v = f.pop();
    let cold = m.warm_slot(f.target, key);
    let i = m.slot(f.target, key, witness)?;
    let CachedSlot {
        original, current, ..
    } = m.slots[i];
    let mut cost = if cold { 2100 } else { 0 };
    if current == v || original != current {
        cost += 100;
    } else {
        cost += if original.is_zero() { 20_000 } else { 2900 };
    }
    if !f.charge_u64(cost) {
        return Ok(Flow::Halt(Halt::Error));
    }
    if current != v {
        if original == current {
            if !original.is_zero() && v.is_zero() {
                f.refund += 4800;
            }
        } else {
            if !original.is_zero() {
                if current.is_zero() {
                    f.refund -= 4800;
                } else if v.is_zero() {
                    f.refund += 4800;
                }
            }
            if original == v {
                f.refund += if original.is_zero() { 19_900 } else { 2800 };
            }
        }
        m.journal.push(JournalEntry::Slot(i, current));
        m.slots[i].current = v;
    }
    Ok(Flow::Continue)
}

/// CALL, CALLCODE, DELEGATECALL, STATICCALL (`_call` and `_enterCall`).
fn call(
    m: &mut MachineState,
    f: &mut Frame,
    depth: usize,
    op: u8,
    witness: &Witness,
) -> Result<Flow, StepModelError> {
    let err = Ok(Flow::Halt(Halt::Error));
    let mut c = Frame::new();
    let gas_req = f.pop();
    let to = address_of(f.pop());
    c.value = if op == 0xf1 || op == 0xf2 {
        f.pop()
    } else {
        U256::ZERO
    };
    let in_off = f.pop();
    let in_len = f.pop();
    c.ret_offset = f.pop();
    c.ret_size = f.pop();
    if op == 0xf1 && f.is_static && !c.value.is_zero() {
        return err;
    }
    if !f.expand(in_off, in_len) || !f.expand(c.ret_offset, c.ret_size) {
        return err;
    }
    // As revm: the value-transfer cost, then the access; a cold account that cannot be paid
    // for is never loaded (so the witness holds only what revm read).
    if !c.value.is_zero() && !f.charge_u64(9000) {
        return err;
    }
    let access = if m.warm(to) { 2600 } else { 100 };
    if !f.charge_u64(access) {
        return err;
    }
    if op == 0xf1 && !c.value.is_zero() {
        let t = m.acc(to, witness)?;
        if m.accounts[t].is_empty() && !f.charge_u64(25_000) {
            return err;
        }
    }
    c.gas = f.gas - f.gas / 64;
    if gas_req < U256::from(c.gas) {
        c.gas = gas_req.saturating_to::<u64>();
    }
    f.gas -= c.gas;
    if !c.value.is_zero() {
        c.gas += 2300;
    }
    c.input = f.slice(in_off, in_len);
    // `_enterCall`.
    f.return_data = Bytes::new();
    if depth + 1 > MAX_DEPTH {
        return Ok(call_failed(f, c.gas));
    }
    c.is_static = f.is_static || op == 0xfa;
    c.checkpoint = m.journal.len();
    c.logs_checkpoint = m.logs_acc;
    if op == 0xf4 {
        c.caller = f.caller;
        c.target = f.target;
        c.value = f.value;
    } else {
        c.caller = f.target;
        c.target = if op == 0xf2 { f.target } else { to };
        if !m.transfer(f.target, c.target, c.value, witness)? {
            m.revert_to(c.checkpoint, c.logs_checkpoint);
            return Ok(call_failed(f, c.gas));
        }
    }
    if precompiles::is_precompile(to) {
        match precompiles::run(to, &c.input, c.gas)? {
            None => {
                m.revert_to(c.checkpoint, c.logs_checkpoint);
                f.push(U256::ZERO);
            }
            Some((used, out)) => {
                f.gas += c.gas - used;
                copy_out(f, c.ret_offset, c.ret_size, &out);
                f.return_data = out;
                f.push(U256::from(1));
            }
        }
        return Ok(Flow::Continue);
    }
    let t = m.acc(to, witness)?;
    let code = m.code(t, witness)?;
    if code.is_empty() {
        f.gas += c.gas;
        f.push(U256::from(1));
        return Ok(Flow::Continue);
    }
    c.code_hash = keccak256(&code);
    c.code = code;
    Ok(Flow::Child(Box::new(c)))
}

/// A call that never started (depth or balance): the forwarded gas comes back, 0 is pushed.
fn call_failed(f: &mut Frame, limit: u64) -> Flow {
    f.gas += limit;
    f.push(U256::ZERO);
    Flow::Continue
}

/// CREATE / CREATE2 (`_create`).
fn create(
    m: &mut MachineState,
    f: &mut Frame,
    depth: usize,
    is_create2: bool,
    witness: &Witness,
) -> Result<Flow, StepModelError> {
    let err = Ok(Flow::Halt(Halt::Error));
    if f.is_static {
        return err;
    }
    let value = f.pop();
    let off = f.pop();
    let len = f.pop();
    let salt = if is_create2 { f.pop() } else { U256::ZERO };
    if len > U256::from(MAX_INITCODE_SIZE) {
        return err;
    }
    let per_word = if is_create2 { 8 } else { 2 };
    if !f.charge(U256::from(per_word) * words(len)) || !f.expand(off, len) {
        return err;
    }
    let mut c = Frame::new();
    c.caller = f.target;
    c.value = value;
    c.code = f.slice(off, len);
    c.code_hash = keccak256(&c.code);
    c.gas = f.gas - f.gas / 64;
    f.gas -= c.gas;
    f.return_data = Bytes::new();
    let s = m.acc(f.target, witness)?;
    if depth + 1 > MAX_DEPTH || m.accounts[s].balance < value || m.accounts[s].nonce == u64::MAX {
        return Ok(call_failed(f, c.gas));
    }
    let nonce = m.accounts[s].nonce;
    m.set_nonce(s, nonce + 1);
    c.target = if is_create2 {
        f.target.create2(B256::from(salt), c.code_hash)
    } else {
        create_address(f.target, nonce)
    };
    m.warm(c.target);
    let (ok, collided) = m.enter_create(&mut c, witness)?;
    if !ok {
        if !collided {
            f.gas += c.gas;
        }
        f.push(U256::ZERO);
        return Ok(Flow::Continue);
    }
    Ok(Flow::Child(Box::new(c)))
}

/// SELFDESTRUCT under EIP-6780.
fn selfdestruct(
    m: &mut MachineState,
    f: &mut Frame,
    witness: &Witness,
) -> Result<Flow, StepModelError> {
    if f.is_static {
        return Ok(Flow::Halt(Halt::Error));
    }
    let to = address_of(f.pop());
    let me = m.acc(f.target, witness)?;
    let balance = m.accounts[me].balance;
    let mut cost = if m.warm(to) { 2600 } else { 0 };
    // revm does not load a cold target it cannot pay for.
    if f.gas < cost {
        return Ok(Flow::Halt(Halt::Error));
    }
    let t = m.acc(to, witness)?;
    if !balance.is_zero() && m.accounts[t].is_empty() {
        cost += 25_000;
    }
    if !f.charge_u64(cost) {
        return Ok(Flow::Halt(Halt::Error));
    }
    if to != f.target {
        m.touch(t);
        let credited = m.accounts[t]
            .balance
            .checked_add(balance)
            .ok_or(StepModelError::Overflow)?;
        m.set_balance(t, credited);
    }
    if m.accounts[me].created {
        m.set_balance(me, U256::ZERO);
        // Journaled only the first time: reverting a later SELFDESTRUCT of an account already
        // destructed must leave it destructed (revm's `was_destroyed`).
        if !m.accounts[me].destructed {
            m.journal.push(JournalEntry::Destruct(me));
            m.accounts[me].destructed = true;
        }
    } else if to != f.target {
        m.set_balance(me, U256::ZERO);
    }
    Ok(Flow::Halt(Halt::Stop))
}

/// The result of one whole transaction through the model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelOutcome {
    /// Receipt type (0x7E for deposits).
    pub tx_type: u8,
    /// What the interpreter returned.
    pub result: ExecResult,
    /// The state root after the transaction.
    pub post_state_root: B256,
    /// `keccak(txType ‖ status ‖ uint64 cumulativeGas ‖ logsAcc)`.
    pub receipt_leaf: B256,
    /// The commitment `keccak(stateRoot ‖ uint256 cumulativeGas ‖ receiptsHash)` the verifier
    /// returns.
    pub commitment: B256,
    /// Steps taken (instructions plus frame exits).
    pub steps: u64,
}

/// The inputs of `EvmStepVerifier.verifyTransaction`.
#[derive(Clone, Copy, Debug)]
pub struct StepInput<'a> {
    /// Block fields.
    pub ctx: BlockContext,
    /// Verifier immutables.
    pub config: ChainConfig,
    /// State root before the transaction.
    pub pre_state_root: B256,
    /// Block gas used before it.
    pub pre_cumulative_gas: u64,
    /// Receipts hash before it.
    pub pre_receipts_hash: B256,
    /// The EIP-2718 envelope.
    pub tx_rlp: &'a [u8],
    /// The witness, `abi.encode(nodes, codes, accounts, slotOwners, slotKeys, ancestors)`.
    pub witness: &'a [u8],
}

/// `verifyTransaction` in Rust: decodes the witness and the transaction, loops [`step`] to the
/// end, writes the result into the trie twin and commits.
pub fn execute_transaction(input: &StepInput<'_>) -> Result<ModelOutcome, StepModelError> {
    let (decoded, ancestors) = state::decode(input.witness)?;
    let block_hashes = state::block_hashes(input.ctx.number, input.ctx.parent_hash, &ancestors)?;
    let tx = tx::decode(input.tx_rlp, input.config.chain_id)?;
    let (mut witness, proven) = state::open(input.pre_state_root, decoded)?;
    witness.set_block_hashes(block_hashes);
    let tx_type = tx.tx_type;
    let mut machine = MachineState::start(
        input.pre_state_root,
        keccak256(input.tx_rlp),
        tx,
        input.ctx,
        input.config,
        &witness,
    )?;
    let mut steps = 0u64;
    while machine.phase == Phase::Running {
        step(&mut machine, &witness)?;
        steps += 1;
    }
    let Phase::Finished(result) = machine.phase else {
        return Err(StepModelError::Finished);
    };
    let post_state_root = proven.post_state_root(&result.accounts, &result.slots)?;
    let cumulative = input.pre_cumulative_gas + result.gas_used;
    let receipt_leaf = receipt_leaf(tx_type, result.success, cumulative, result.logs_acc);
    let receipts_hash = keccak256([input.pre_receipts_hash, receipt_leaf].concat());
    let commitment = crate::trace::TraceState {
        state_root: post_state_root,
        cumulative_gas: cumulative,
        receipts_hash,
    }
    .commitment();
    Ok(ModelOutcome {
        tx_type,
        result,
        post_state_root,
        receipt_leaf,
        commitment,
        steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{address, TxKind};
    use parallax_protocol::{deposit::DepositTx, predeploys};

    const FROM: Address = address!("00000000000000000000000000000000000a11ce");
    const CALLER: Address = address!("00000000000000000000000000000000000ca11e");
    const STORE: Address = address!("0000000000000000000000000000000000005707");

    fn config() -> ChainConfig {
        ChainConfig {
            chain_id: 901,
            base_fee_vault: predeploys::BASE_FEE_VAULT,
            l1_fee_vault: predeploys::L1_FEE_VAULT,
        }
    }

    fn ctx() -> BlockContext {
        BlockContext {
            number: U256::from(100),
            timestamp: U256::from(1_700_000_000u64),
            coinbase: predeploys::SEQUENCER_FEE_VAULT,
            gas_limit: U256::from(30_000_000),
            base_fee: U256::from(1_000_000_000u64),
            prev_randao: B256::repeat_byte(0x42),
            parent_hash: B256::repeat_byte(0x99),
        }
    }

    fn deposit(to: Address, gas_limit: u64) -> TxInput {
        let raw = DepositTx {
            source_hash: B256::repeat_byte(1),
            from: FROM,
            to: TxKind::Call(to),
            mint: U256::from(10),
            value: U256::ZERO,
            gas_limit,
            is_system: false,
            data: Bytes::new(),
        }
        .encode();
        tx::decode(&raw, 901).expect("a deposit decodes")
    }

    fn account(code: Option<&Bytes>) -> PreAccount {
        PreAccount {
            nonce: u64::from(code.is_some()),
            balance: U256::ZERO,
            code_hash: code.map_or(EMPTY_CODE_HASH, keccak256),
            exists: code.is_some(),
        }
    }

    /// CALLER calls STORE, which does `SSTORE(0, 1)`.
    fn witness() -> Witness {
        let store = Bytes::from_static(&[0x60, 0x01, 0x60, 0x00, 0x55, 0x00]);
        // PUSH1 0 (x5: retSize retOffset inSize inOffset value) PUSH20 STORE GAS CALL STOP
        let mut caller = vec![0x60, 0, 0x60, 0, 0x60, 0, 0x60, 0, 0x60, 0, 0x73];
        caller.extend_from_slice(STORE.as_slice());
        caller.extend_from_slice(&[0x5a, 0xf1, 0x00]);
        let caller = Bytes::from(caller);
        Witness::from_parts(
            [
                (FROM, account(None)),
                (CALLER, account(Some(&caller))),
                (STORE, account(Some(&store))),
                (predeploys::SEQUENCER_FEE_VAULT, account(None)),
                (predeploys::BASE_FEE_VAULT, account(None)),
            ],
            [((STORE, U256::ZERO), U256::ZERO)],
            [store, caller],
        )
    }

    fn run(tx: TxInput, witness: &Witness) -> (MachineState, Vec<(StepOutcome, B256)>) {
        let mut m =
            MachineState::start(B256::ZERO, B256::ZERO, tx, ctx(), config(), witness).unwrap();
        let mut trace = vec![];
        while m.phase == Phase::Running {
            let outcome = step(&mut m, witness).unwrap();
            trace.push((outcome, m.commitment()));
        }
        (m, trace)
    }

    #[test]
    fn a_store_costs_what_the_yellow_paper_says() {
        let (m, trace) = run(deposit(STORE, 100_000), &witness());
        let Phase::Finished(result) = &m.phase else {
            unreachable!()
        };
        // 21000 + PUSH1 + PUSH1 + cold SSTORE from zero (2100 + 20000).
        assert_eq!(result.gas_used, 21_000 + 3 + 3 + 22_100);
        assert!(result.success);
        assert_eq!(
            result.slots,
            vec![PostSlot {
                address: STORE,
                slot: U256::ZERO,
                value: U256::from(1)
            }]
        );
        // Three instructions, STOP, then the frame exit that settles.
        assert_eq!(trace.len(), 5);
        assert_eq!(trace[3].0, StepOutcome::Halted(Halt::Stop));
        assert_eq!(trace[4].0, StepOutcome::Finished);
        assert_eq!(
            step(&mut m.clone(), &witness()),
            Err(StepModelError::Finished)
        );
    }

    #[test]
    fn commitments_are_deterministic_and_move_with_every_step() {
        let w = witness();
        let (_, first) = run(deposit(CALLER, 200_000), &w);
        let (_, second) = run(deposit(CALLER, 200_000), &w);
        assert_eq!(first, second);
        for pair in first.windows(2) {
            assert_ne!(pair[0].1, pair[1].1, "a step that changes nothing");
        }
        let outcomes: Vec<_> = first.iter().map(|(o, _)| *o).collect();
        assert!(outcomes.contains(&StepOutcome::Entered));
        assert!(outcomes.contains(&StepOutcome::Exited));
        // A different transaction (gas limit) commits differently from the first step on.
        let (_, other) = run(deposit(CALLER, 200_001), &w);
        assert_ne!(first[0].1, other[0].1);
    }

    /// Runs `PUSH8 n BLOCKHASH PUSH1 0 SSTORE` at STORE (block 100) with `hashes` proven and
    /// returns what was stored.
    fn blockhash(n: u64, hashes: &[B256]) -> Result<U256, StepModelError> {
        let mut code = vec![0x67];
        code.extend_from_slice(&n.to_be_bytes());
        code.extend_from_slice(&[0x40, 0x60, 0x00, 0x55, 0x00]);
        let code = Bytes::from(code);
        let mut w = Witness::from_parts(
            [
                (FROM, account(None)),
                (STORE, account(Some(&code))),
                (predeploys::SEQUENCER_FEE_VAULT, account(None)),
                (predeploys::BASE_FEE_VAULT, account(None)),
            ],
            [((STORE, U256::ZERO), U256::ZERO)],
            [code],
        );
        w.set_block_hashes(hashes.to_vec());
        let mut m = MachineState::start(
            B256::ZERO,
            B256::ZERO,
            deposit(STORE, 100_000),
            ctx(),
            config(),
            &w,
        )?;
        while m.phase == Phase::Running {
            step(&mut m, &w)?;
        }
        let Phase::Finished(result) = m.phase else {
            unreachable!()
        };
        assert!(result.success);
        Ok(result.slots.first().map_or(U256::ZERO, |slot| slot.value))
    }

    #[test]
    fn blockhash_reads_the_proven_ancestors_inside_the_window() {
        // hashes[j] is the hash of block 99 - j.
        let hashes: Vec<B256> = (0..100u8).map(|j| B256::repeat_byte(j + 1)).collect();
        assert_eq!(
            blockhash(99, &hashes[..1]),
            Ok(U256::from_be_bytes([1; 32]))
        );
        assert_eq!(blockhash(97, &hashes), Ok(U256::from_be_bytes([3; 32])));
        assert_eq!(blockhash(0, &hashes), Ok(U256::from_be_bytes([100; 32])));
        // The current block, the future: zero, whatever the witness has.
        assert_eq!(blockhash(100, &hashes), Ok(U256::ZERO));
        assert_eq!(blockhash(u64::MAX, &[]), Ok(U256::ZERO));
        // Deeper than the witness reaches: a typed error naming the block, never a guess.
        assert_eq!(
            blockhash(97, &hashes[..2]),
            Err(StepModelError::MissingAncestor(97))
        );
        assert_eq!(blockhash(99, &[]), Err(StepModelError::MissingAncestor(99)));
    }

    #[test]
    fn blockhash_outside_the_window_is_zero() {
        let mut c = ctx();
        c.number = U256::from(1000);
        let hashes: Vec<B256> = (0..=255u8).map(|j| B256::repeat_byte(j)).collect();
        let code = Bytes::from_static(&[0x61, 0x02, 0xe7, 0x40, 0x60, 0x00, 0x55, 0x00]);
        let mut w = Witness::from_parts(
            [
                (FROM, account(None)),
                (STORE, account(Some(&code))),
                (predeploys::SEQUENCER_FEE_VAULT, account(None)),
                (predeploys::BASE_FEE_VAULT, account(None)),
            ],
            [((STORE, U256::ZERO), U256::from(5))],
            [code],
        );
        w.set_block_hashes(hashes);
        // BLOCKHASH(743) at block 1000 (257 back): zero, stored over the 5.
        let mut m = MachineState::start(
            B256::ZERO,
            B256::ZERO,
            deposit(STORE, 100_000),
            c,
            config(),
            &w,
        )
        .unwrap();
        while m.phase == Phase::Running {
            step(&mut m, &w).unwrap();
        }
        let Phase::Finished(result) = m.phase else {
            unreachable!()
        };
        assert_eq!(result.slots[0].value, U256::ZERO);
    }

    #[test]
    fn the_ancestor_chain_is_checked_header_by_header() {
        use alloy_consensus::Header;
        // Blocks 0..=9; the transaction is in block 10.
        let mut parent = B256::ZERO;
        let mut headers = Vec::new();
        for number in 0..10u64 {
            let rlp = Bytes::from(alloy_rlp::encode(Header {
                parent_hash: parent,
                number,
                ..Default::default()
            }));
            parent = keccak256(&rlp);
            headers.push(rlp);
        }
        headers.reverse(); // nearest first: block 9, 8, ...
        let number = U256::from(10);
        let hashes = state::block_hashes(number, parent, &headers[..9]).unwrap();
        assert_eq!(hashes.len(), 10);
        assert_eq!(hashes[0], parent);
        for (j, header) in headers.iter().enumerate() {
            assert_eq!(hashes[j], keccak256(header), "block {}", 9 - j);
        }
        assert_eq!(state::block_hashes(number, parent, &[]), Ok(vec![parent]));
        // The genesis header proves nothing more: the witness is malformed.
        assert_eq!(
            state::block_hashes(number, parent, &headers),
            Err(StepModelError::MalformedWitness)
        );
        // A header out of place.
        let mut wrong = headers[..3].to_vec();
        wrong.swap(1, 2);
        assert_eq!(
            state::block_hashes(number, parent, &wrong),
            Err(StepModelError::AncestorMismatch(8))
        );
        // Hashes right, but no parentHash to read.
        let bads: [&[u8]; 5] = [b"", &[0x80], &[0xc0], &[0xc1, 0xa0], &[0xf8, 0x21, 0x80]];
        for bad in bads {
            let bad = Bytes::copy_from_slice(bad);
            assert_eq!(
                state::block_hashes(number, keccak256(&bad), &[bad]),
                Err(StepModelError::MalformedAncestor(9))
            );
        }
        assert_eq!(
            state::block_hashes(
                U256::from(1000),
                parent,
                &std::iter::repeat_n(Bytes::new(), 256).collect::<Vec<_>>()
            ),
            Err(StepModelError::MalformedWitness)
        );
    }

    #[test]
    fn what_the_witness_lacks_is_a_typed_error() {
        let w = Witness::from_parts([(FROM, account(None))], [], []);
        assert_eq!(
            MachineState::start(
                B256::ZERO,
                B256::ZERO,
                deposit(STORE, 100_000),
                ctx(),
                config(),
                &w
            )
            .map(|_| ()),
            Err(StepModelError::MissingAccount(STORE))
        );
        let code = Bytes::from_static(&[0x60, 0x07, 0x54, 0x00]);
        let w = Witness::from_parts(
            [
                (FROM, account(None)),
                (STORE, account(Some(&code))),
                (predeploys::SEQUENCER_FEE_VAULT, account(None)),
                (predeploys::BASE_FEE_VAULT, account(None)),
            ],
            [],
            [],
        );
        assert_eq!(
            MachineState::start(
                B256::ZERO,
                B256::ZERO,
                deposit(STORE, 100_000),
                ctx(),
                config(),
                &w
            )
            .map(|_| ()),
            Err(StepModelError::MissingCode(keccak256(&code)))
        );
        let w = Witness::from_parts(
            [
                (FROM, account(None)),
                (STORE, account(Some(&code))),
                (predeploys::SEQUENCER_FEE_VAULT, account(None)),
                (predeploys::BASE_FEE_VAULT, account(None)),
            ],
            [],
            [code],
        );
        let mut m = MachineState::start(
            B256::ZERO,
            B256::ZERO,
            deposit(STORE, 100_000),
            ctx(),
            config(),
            &w,
        )
        .unwrap();
        step(&mut m, &w).unwrap();
        assert_eq!(
            step(&mut m, &w),
            Err(StepModelError::MissingSlot(STORE, U256::from(7)))
        );
    }

    #[test]
    fn the_decoder_refuses_what_the_sequencer_cannot_include() {
        assert_eq!(
            tx::decode(&[], 901),
            Err(StepModelError::InvalidTransaction(20))
        );
        assert_eq!(
            tx::decode(&[0x03, 0xc0], 901),
            Err(StepModelError::InvalidTransaction(21))
        );
        assert_eq!(
            tx::decode(&[0x7e, 0xc0], 901),
            Err(StepModelError::InvalidTransaction(25))
        );
        assert!(matches!(
            tx::decode(&[0x02, 0xc1, 0x80], 901),
            Err(StepModelError::InvalidTransaction(_))
        ));
    }

    #[test]
    fn a_nonce_that_can_never_be_incremented_is_refused() {
        use alloy::eips::eip2718::Encodable2718;
        use alloy::signers::{local::PrivateKeySigner, SignerSync};
        use alloy_consensus::{SignableTransaction, TxEnvelope, TxLegacy};
        let signer = PrivateKeySigner::from_bytes(&B256::repeat_byte(0x11)).unwrap();
        let raw = |nonce: u64| {
            let tx = TxLegacy {
                chain_id: Some(901),
                nonce,
                gas_price: 1_000_000_000,
                gas_limit: 100_000,
                to: TxKind::Create,
                value: U256::ZERO,
                input: Bytes::new(),
            };
            let signature = signer.sign_hash_sync(&tx.signature_hash()).unwrap();
            TxEnvelope::from(tx.into_signed(signature)).encoded_2718()
        };
        // EIP-2681: revm refuses nonce 2^64-1 (NonceOverflowInTransaction) whatever the state.
        assert_eq!(
            tx::decode(&raw(u64::MAX), 901).map(|_| ()),
            Err(StepModelError::InvalidTransaction(tx::reason::NONCE_MAX))
        );
        let decoded = tx::decode(&raw(u64::MAX - 1), 901).unwrap();
        assert_eq!(
            (decoded.nonce, decoded.from),
            (u64::MAX - 1, signer.address())
        );
    }

    #[test]
    fn a_call_with_value_it_cannot_pay_for_reads_no_callee() {
        // PUSH1 0 (x4: retSize retOffset inSize inOffset) PUSH1 1 (value) PUSH20 ABSENT GAS CALL
        // STOP, with too little gas for the 9000 of a value transfer: revm stops before it
        // loads ABSENT, so the challenger's witness lacks it and the model must not read it.
        const ABSENT: Address = address!("00000000000000000000000000000000000ab5e7");
        let mut code = vec![0x60, 0, 0x60, 0, 0x60, 0, 0x60, 0, 0x60, 1, 0x73];
        code.extend_from_slice(ABSENT.as_slice());
        code.extend_from_slice(&[0x5a, 0xf1, 0x00]);
        let code = Bytes::from(code);
        let w = Witness::from_parts(
            [
                (FROM, account(None)),
                (CALLER, account(Some(&code))),
                (predeploys::SEQUENCER_FEE_VAULT, account(None)),
                (predeploys::BASE_FEE_VAULT, account(None)),
            ],
            [],
            [code],
        );
        // 21000 intrinsic, 6 pushes and GAS (20), then 9000 short by one.
        let gas_limit = 21_000 + 20 + 8_999;
        let (m, _) = run(deposit(CALLER, gas_limit), &w);
        let Phase::Finished(result) = &m.phase else {
            unreachable!()
        };
        assert!(!result.success);
        assert_eq!(result.gas_used, gas_limit);
    }

    #[test]
    fn a_malformed_witness_is_refused() {
        let input = StepInput {
            ctx: ctx(),
            config: config(),
            pre_state_root: B256::ZERO,
            pre_cumulative_gas: 0,
            pre_receipts_hash: B256::ZERO,
            tx_rlp: &[0x7e],
            witness: &[1, 2, 3],
        };
        assert_eq!(
            execute_transaction(&input),
            Err(StepModelError::MalformedWitness)
        );
    }
}
