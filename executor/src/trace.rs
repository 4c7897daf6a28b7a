//! Call tracing: re-executing a block's transactions with a revm [`Inspector`] that records the
//! tree of calls and creations each one made, as geth's and reth's `callTracer` report it.
//!
//! The traced transactions run through the very handler blocks execute with (deposits mint,
//! signed transactions pay the L1 data fee, fees go to the vaults), on the block's pre-state with
//! every earlier transaction of the block applied, so a trace shows what the chain executed.

use alloy_primitives::{Address, Bytes, Log, U256};
use revm::{
    context_interface::{ContextTr, CreateScheme, JournalTr},
    inspector::Inspector,
    interpreter::{
        CallInputs, CallOutcome, CallScheme, CreateInputs, CreateOutcome, InstructionResult,
    },
};

use crate::{
    changes::{tx_writes, TxFailure},
    evm::{cfg_env, transact, transact_inspected, Executed, FeeMode},
    sequential::Overlay,
    types::{BlockTransaction, ExecutionEnv, ExecutionError},
    StateView,
};

/// What kind of frame a [`CallFrame`] is (geth's `type` field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallKind {
    /// `CALL` (also a transaction to an address).
    Call,
    /// `CALLCODE`.
    CallCode,
    /// `DELEGATECALL`.
    DelegateCall,
    /// `STATICCALL`.
    StaticCall,
    /// `CREATE` (also a contract-creation transaction).
    Create,
    /// `CREATE2`.
    Create2,
}

impl CallKind {
    /// The opcode name geth prints.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Call => "CALL",
            Self::CallCode => "CALLCODE",
            Self::DelegateCall => "DELEGATECALL",
            Self::StaticCall => "STATICCALL",
            Self::Create => "CREATE",
            Self::Create2 => "CREATE2",
        }
    }
}

/// A log emitted by a frame, with its position among the frame's sub-calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallLog {
    /// The log.
    pub log: Log,
    /// How many sub-calls the frame had made when it emitted the log (geth's `position`), so
    /// a reader can interleave logs and calls.
    pub position: u64,
    /// The log's index among the transaction's logs (those of failed frames do not count),
    /// as in the receipt.
    pub index: u64,
}

/// One call or creation, with the frames it opened: a node of geth's `callTracer` output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallFrame {
    /// Call or create kind.
    pub kind: CallKind,
    /// The account whose code made the call (for `DELEGATECALL`, the delegating contract).
    pub from: Address,
    /// The account whose code ran: the callee, or the created contract.
    pub to: Option<Address>,
    /// Value sent (apparent value for `DELEGATECALL`); `None` for `STATICCALL`.
    pub value: Option<U256>,
    /// Gas available to the frame (the transaction's gas limit for the top frame).
    pub gas: u64,
    /// Gas the frame used (the receipt's gas used for the top frame).
    pub gas_used: u64,
    /// Call data or init code.
    pub input: Bytes,
    /// Return data, revert data, or the deployed code of a creation.
    pub output: Bytes,
    /// Why the frame failed, in geth's words (`execution reverted`, `out of gas`, …).
    pub error: Option<String>,
    /// The decoded `Error(string)` / `Panic(uint256)` reason of a revert.
    pub revert_reason: Option<String>,
    /// Frames this one opened, in order.
    pub calls: Vec<CallFrame>,
    /// Logs this frame emitted (only when asked for, and never those of failed frames).
    pub logs: Vec<CallLog>,
}

/// Options of the call tracer (geth's `tracerConfig`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallTracerConfig {
    /// Record only the top frame.
    pub only_top_call: bool,
    /// Record logs.
    pub with_log: bool,
}

/// The revm inspector building [`CallFrame`] trees.
#[derive(Debug, Default)]
pub struct CallTracer {
    config: CallTracerConfig,
    /// Open frames, outermost first.
    stack: Vec<CallFrame>,
    /// The finished top frame.
    root: Option<CallFrame>,
    /// Logs emitted so far, in any frame.
    logs_emitted: u64,
}

impl CallTracer {
    /// A tracer with `config`.
    pub fn new(config: CallTracerConfig) -> Self {
        Self {
            config,
            ..Self::default()
        }
    }

    fn enter(&mut self, frame: CallFrame) {
        self.stack.push(frame);
    }

    fn exit(&mut self, result: InstructionResult, output: &Bytes, gas_used: u64) {
        let Some(mut frame) = self.stack.pop() else {
            return;
        };
        // A frame that halts (anything but success or revert) consumes all its gas, as the
        // parent sees it.
        frame.gas_used = if result.is_ok_or_revert() {
            gas_used
        } else {
            frame.gas
        };
        // As geth's `processOutput`: a failed frame keeps only revert data as output, and a
        // failed creation names no contract.
        if result.is_ok() {
            frame.output = output.clone();
        } else {
            frame.error = Some(error_message(result).to_owned());
            if matches!(frame.kind, CallKind::Create | CallKind::Create2) {
                frame.to = None;
            }
            if result == InstructionResult::Revert {
                frame.output = output.clone();
                frame.revert_reason = revert_reason(output);
            }
        }
        match self.stack.last_mut() {
            Some(parent) => parent.calls.push(frame),
            None => self.root = Some(frame),
        }
    }

    /// The trace of the transaction that ran, completed from its result: the top frame gets
    /// the transaction's gas limit and the receipt's gas used, as in geth. `None` if no frame
    /// ran (revm refused the transaction before executing it).
    fn finish(mut self, gas_limit: u64, gas_used: u64) -> Option<CallFrame> {
        let mut root = self.root.take()?;
        root.gas = gas_limit;
        root.gas_used = gas_used;
        clear_failed_logs(&mut root, false);
        // Until now `index` held the emission order; the surviving logs are numbered in it,
        // as the receipt numbers them.
        let mut order = Vec::new();
        collect_indices(&root, &mut order);
        order.sort_unstable();
        renumber(&mut root, &order);
        if self.config.only_top_call {
            // geth never records the sub-calls, so a log's position among them is 0.
            root.calls.clear();
            for log in &mut root.logs {
                log.position = 0;
            }
        }
        Some(root)
    }
}

fn collect_indices(frame: &CallFrame, out: &mut Vec<u64>) {
    out.extend(frame.logs.iter().map(|log| log.index));
    for call in &frame.calls {
        collect_indices(call, out);
    }
}

fn renumber(frame: &mut CallFrame, order: &[u64]) {
    for log in &mut frame.logs {
        log.index = order.binary_search(&log.index).unwrap_or_default() as u64;
    }
    for call in &mut frame.calls {
        renumber(call, order);
    }
}

/// Logs of a failed frame, or of any frame under a failed one, were reverted: drop them.
fn clear_failed_logs(frame: &mut CallFrame, parent_failed: bool) {
    let failed = parent_failed || frame.error.is_some();
    if failed {
        frame.logs.clear();
    }
    for call in &mut frame.calls {
        clear_failed_logs(call, failed);
    }
}

impl<CTX: ContextTr> Inspector<CTX> for CallTracer {
    fn call(&mut self, context: &mut CTX, inputs: &mut CallInputs) -> Option<CallOutcome> {
        let (kind, from) = match inputs.scheme {
            CallScheme::Call => (CallKind::Call, inputs.caller),
            CallScheme::CallCode => (CallKind::CallCode, inputs.caller),
            // revm's caller of a delegate call is the inherited msg.sender; geth's `from` is
            // the contract that delegates, whose storage the code runs on.
            CallScheme::DelegateCall => (CallKind::DelegateCall, inputs.target_address),
            CallScheme::StaticCall => (CallKind::StaticCall, inputs.caller),
        };
        let value = (kind != CallKind::StaticCall).then(|| inputs.value.get());
        self.enter(CallFrame {
            kind,
            from,
            to: Some(inputs.bytecode_address),
            value,
            gas: inputs.gas_limit,
            gas_used: 0,
            input: inputs.input.bytes(context),
            output: Bytes::new(),
            error: None,
            revert_reason: None,
            calls: Vec::new(),
            logs: Vec::new(),
        });
        None
    }

    fn call_end(&mut self, _context: &mut CTX, _inputs: &CallInputs, outcome: &mut CallOutcome) {
        let gas = &outcome.result.gas;
        self.exit(
            outcome.result.result,
            &outcome.result.output,
            gas.limit().saturating_sub(gas.remaining()),
        );
    }

    fn create(&mut self, context: &mut CTX, inputs: &mut CreateInputs) -> Option<CreateOutcome> {
        let kind = match inputs.scheme() {
            CreateScheme::Create2 { .. } => CallKind::Create2,
            _ => CallKind::Create,
        };
        // The creator's nonce before the creation bumps it gives the new address, which geth
        // reports even when the creation fails.
        let nonce = context
            .journal_mut()
            .load_account(inputs.caller())
            .map(|account| account.data.info.nonce)
            .ok();
        let to = nonce.map(|nonce| inputs.created_address(nonce));
        self.enter(CallFrame {
            kind,
            from: inputs.caller(),
            to,
            value: Some(inputs.value()),
            gas: inputs.gas_limit(),
            gas_used: 0,
            input: inputs.init_code().clone(),
            output: Bytes::new(),
            error: None,
            revert_reason: None,
            calls: Vec::new(),
            logs: Vec::new(),
        });
        None
    }

    fn create_end(
        &mut self,
        _context: &mut CTX,
        _inputs: &CreateInputs,
        outcome: &mut CreateOutcome,
    ) {
        if let (Some(address), Some(frame)) = (outcome.address, self.stack.last_mut()) {
            frame.to = Some(address);
        }
        let gas = &outcome.result.gas;
        self.exit(
            outcome.result.result,
            &outcome.result.output,
            gas.limit().saturating_sub(gas.remaining()),
        );
    }

    fn log(&mut self, _context: &mut CTX, log: Log) {
        if !self.config.with_log {
            return;
        }
        let index = self.logs_emitted;
        self.logs_emitted += 1;
        if let Some(frame) = self.stack.last_mut() {
            frame.logs.push(CallLog {
                log,
                position: frame.calls.len() as u64,
                index,
            });
        }
    }
}

/// geth's message for a frame that ended with `result` (core/vm/errors.go).
fn error_message(result: InstructionResult) -> &'static str {
    use InstructionResult as R;
    match result {
        R::Revert => "execution reverted",
        R::CallTooDeep => "max call depth exceeded",
        R::OutOfFunds => "insufficient balance for transfer",
        R::OutOfGas
        | R::MemoryOOG
        | R::MemoryLimitOOG
        | R::PrecompileOOG
        | R::InvalidOperandOOG
        | R::ReentrancySentryOOG => "out of gas",
        R::InvalidFEOpcode => "invalid opcode: INVALID",
        R::OpcodeNotFound | R::NotActivated => "invalid opcode",
        R::CallNotAllowedInsideStatic | R::StateChangeDuringStaticCall => "write protection",
        R::InvalidJump => "invalid jump destination",
        R::StackUnderflow => "stack underflow",
        R::StackOverflow => "stack limit reached 1024",
        R::OutOfOffset => "return data out of bounds",
        R::CreateCollision => "contract address collision",
        R::OverflowPayment => "gas uint64 overflow",
        R::PrecompileError => "precompile failed",
        R::NonceOverflow => "nonce uint64 overflow",
        R::CreateContractSizeLimit => "max code size exceeded",
        R::CreateContractStartingWithEF => "invalid code: must not begin with 0xef",
        R::CreateInitCodeSizeLimit => "max initcode size exceeded",
        _ => "execution failed",
    }
}

/// The reason of revert data, decoded as Solidity's `Error(string)` or `Panic(uint256)` (geth's
/// `abi.UnpackRevert`).
pub fn revert_reason(output: &[u8]) -> Option<String> {
    const ERROR: [u8; 4] = [0x08, 0xc3, 0x79, 0xa0];
    const PANIC: [u8; 4] = [0x4e, 0x48, 0x7b, 0x71];
    let selector: [u8; 4] = output.get(..4)?.try_into().ok()?;
    let body = &output[4..];
    match selector {
        ERROR => {
            let offset = U256::from_be_slice(body.get(..32)?);
            let offset = usize::try_from(offset).ok()?;
            let length_end = offset.checked_add(32)?;
            let length = U256::from_be_slice(body.get(offset..length_end)?);
            let length = usize::try_from(length).ok()?;
            let text = body.get(length_end..length_end.checked_add(length)?)?;
            String::from_utf8(text.to_vec()).ok()
        }
        PANIC => {
            let code = U256::from_be_slice(body.get(..32)?);
            let reason = match u64::try_from(code).ok()? {
                0x00 => "generic panic",
                0x01 => "assert(false)",
                0x11 => "arithmetic underflow or overflow",
                0x12 => "division or modulo by zero",
                0x21 => "enum overflow",
                0x22 => "invalid encoded storage byte array accessed",
                0x31 => "out-of-bounds array access; popping on an empty array",
                0x32 => "out-of-bounds access of an array or bytesN",
                0x41 => "out of memory",
                0x51 => "uninitialized function",
                _ => return Some(format!("unknown panic code: {code:#x}")),
            };
            Some(reason.to_owned())
        }
        _ => None,
    }
}

/// Re-executes the transactions of a block on its pre-state `state`, in order up to the last
/// index of `traced`, and returns the call trace of each traced transaction (in `traced`'s
/// order, which must be ascending). Untraced transactions run without an inspector.
///
/// Fails like block execution does if a transaction cannot be executed — which for a stored
/// block means the state given is not its pre-state.
pub fn trace_calls<S: StateView, T: BlockTransaction>(
    env: &ExecutionEnv,
    txs: &[T],
    state: &S,
    traced: &[usize],
    config: CallTracerConfig,
) -> Result<Vec<CallFrame>, ExecutionError> {
    let Some(&last) = traced.last() else {
        return Ok(Vec::new());
    };
    let cfg = cfg_env(env);
    let mut overlay = Overlay::new(state);
    let mut frames = Vec::with_capacity(traced.len());
    for (index, tx) in txs.iter().enumerate().take(last.saturating_add(1)) {
        overlay.clear_loaded();
        let output = if traced.contains(&index) {
            let mut tracer = CallTracer::new(config);
            let output = transact_inspected(env, &cfg, tx, &mut overlay, &mut tracer)
                .map_err(|error| TxFailure::from(error).at(index))?;
            let frame = match &output.result {
                Executed::Evm(result) => {
                    let gas_used = if tx.counts_gas() {
                        result.tx_gas_used()
                    } else {
                        0
                    };
                    tracer.finish(tx.env().gas_limit, gas_used)
                }
                Executed::FailedDeposit { .. } => None,
            };
            frames.push(frame.unwrap_or_else(|| refused_frame(tx, &output.result)));
            output
        } else {
            transact(env, &cfg, tx, &mut overlay, FeeMode::Immediate)
                .map_err(|error| TxFailure::from(error).at(index))?
        };
        let writes = tx_writes(&output.state, env.spec, |address| {
            overlay.loaded_info(address)
        });
        overlay.apply(&writes);
    }
    if frames.len() != traced.len() {
        return Err(ExecutionError::InvalidTransaction {
            index: last,
            reason: crate::types::InvalidTx(format!(
                "the block has {} transactions; cannot trace index {last}",
                txs.len()
            )),
        });
    }
    Ok(frames)
}

/// The single frame of a transaction that ran no code frame: a deposit the EVM refused (it is
/// included all the same, using its gas limit), shown as a failed call.
fn refused_frame<T: BlockTransaction>(tx: &T, result: &Executed) -> CallFrame {
    let env = tx.env();
    let (gas_used, error) = match result {
        Executed::FailedDeposit { gas_used, reason } => {
            (*gas_used, format!("deposit failed: {reason}"))
        }
        Executed::Evm(result) => (result.tx_gas_used(), "execution failed".to_owned()),
    };
    let (kind, to) = match env.kind {
        alloy_primitives::TxKind::Call(to) => (CallKind::Call, Some(to)),
        alloy_primitives::TxKind::Create => (CallKind::Create, None),
    };
    CallFrame {
        kind,
        from: env.caller,
        to,
        value: Some(env.value),
        gas: env.gas_limit,
        gas_used: if tx.counts_gas() { gas_used } else { 0 },
        input: env.data.clone(),
        output: Bytes::new(),
        error: Some(error),
        revert_reason: None,
        calls: Vec::new(),
        logs: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_string(text: &str) -> Vec<u8> {
        let mut out = vec![0x08, 0xc3, 0x79, 0xa0];
        out.extend_from_slice(&U256::from(32).to_be_bytes::<32>());
        out.extend_from_slice(&U256::from(text.len()).to_be_bytes::<32>());
        out.extend_from_slice(text.as_bytes());
        out.resize(4 + 64 + text.len().div_ceil(32) * 32, 0);
        out
    }

    #[test]
    fn revert_reasons_decode_and_garbage_does_not_panic() {
        assert_eq!(
            revert_reason(&error_string("not enough")).as_deref(),
            Some("not enough")
        );
        let mut panic = vec![0x4e, 0x48, 0x7b, 0x71];
        panic.extend_from_slice(&U256::from(0x11).to_be_bytes::<32>());
        assert_eq!(
            revert_reason(&panic).as_deref(),
            Some("arithmetic underflow or overflow")
        );
        assert_eq!(revert_reason(&[]), None);
        assert_eq!(revert_reason(&[0x08, 0xc3, 0x79, 0xa0, 1]), None);
        // An offset or length pointing past the data, or beyond usize.
        let mut bad = vec![0x08, 0xc3, 0x79, 0xa0];
        bad.extend_from_slice(&[0xff; 64]);
        assert_eq!(revert_reason(&bad), None);
        for length in 0..200 {
            let data: Vec<u8> = (0..length).map(|i| (i * 37 % 256) as u8).collect();
            let mut input = vec![0x08, 0xc3, 0x79, 0xa0];
            input.extend_from_slice(&data);
            let _ = revert_reason(&input);
        }
    }
}
